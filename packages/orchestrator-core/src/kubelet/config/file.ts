import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultObject, validateObject, type Pod } from '@pilot/api';
import { sleep, type Logger } from '@pilot/common';
import { parse as parseYaml } from 'yaml';
import type { PodSource, PodUpdate } from './source.js';

/**
 * The static pod source (pkg/kubelet/config/file.go): the Pod manifests in
 * `--pod-manifest-path` (a directory, or one file), read without any
 * apiserver. Re-read every `--file-check-frequency` (20 s) and, sooner, when
 * the directory changes (fs events; polling stays, as events can be lost).
 *
 * Each manifest becomes a pod bound to this node (common.go applyDefaults):
 * name `<name>-<node>`, namespace `default` unless given, a UID that hashes
 * the manifest with the node and the file (so a changed file is a new pod,
 * and the same file gives the same UID after a kubelet restart, which then
 * adopts its containers), the hash and the source in annotations, and a
 * toleration of every NoExecute taint. Hidden files and subdirectories are
 * skipped; a file that does not parse or validate is skipped with one line
 * per change of its error.
 */

export const ANNOTATION_CONFIG_SOURCE = 'kubernetes.io/config.source';
export const ANNOTATION_CONFIG_HASH = 'kubernetes.io/config.hash';
export const ANNOTATION_CONFIG_MIRROR = 'kubernetes.io/config.mirror';
export const FILE_SOURCE = 'file';

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ManifestError';
  }
}

/** Whether the kubelet made this pod from a file (a static pod). */
export function isStaticPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[ANNOTATION_CONFIG_SOURCE] === FILE_SOURCE;
}

/** generatePodName: the static pod's name on this node. */
export function staticPodName(name: string, nodeName: string): string {
  return `${name}-${nodeName.toLowerCase()}`;
}

/** One manifest's text → the static pod it declares on `nodeName` (pure). */
export function staticPodFromManifest(text: string, file: string, nodeName: string): Pod {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ManifestError(file, `not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ManifestError(file, 'is not a Pod object');
  const raw = doc as Pod;
  if ((raw.kind ?? 'Pod') !== 'Pod' || (raw.apiVersion ?? 'v1') !== 'v1') throw new ManifestError(file, `is ${raw.apiVersion ?? '?'} ${raw.kind ?? '?'}, not a v1 Pod`);
  const name = raw.metadata?.name;
  if (!name) throw new ManifestError(file, 'metadata.name is required');
  if (typeof raw.spec !== 'object' || raw.spec === null) throw new ManifestError(file, 'spec is required');
  // Always the content's hash (a UID in the manifest is not kept, unlike upstream): a changed manifest must be a new pod.
  const hash = createHash('md5').update(`host:${nodeName}`).update(`file:${file}`).update(JSON.stringify(raw)).digest('hex');
  const pod = defaultObject('pods', { ...raw, apiVersion: 'v1', kind: 'Pod' });
  const meta = pod.metadata;
  meta.name = staticPodName(name, nodeName);
  meta.namespace ||= 'default';
  meta.uid = hash;
  meta.annotations = { ...(meta.annotations ?? {}), [ANNOTATION_CONFIG_HASH]: hash, [ANNOTATION_CONFIG_SOURCE]: FILE_SOURCE };
  delete meta.resourceVersion;
  delete meta.generateName;
  const spec = pod.spec!;
  spec.nodeName = nodeName;
  const tolerations = spec.tolerations ?? [];
  if (!tolerations.some((t) => t.operator === 'Exists' && !t.key && t.effect === 'NoExecute')) spec.tolerations = [...tolerations, { operator: 'Exists', effect: 'NoExecute' }];
  delete pod.status;
  const errs = validateObject('pods', pod);
  if (errs.length) throw new ManifestError(file, `invalid: ${errs.map((e) => `${e.field}: ${e.message || e.type}`).join('; ')}`);
  return pod;
}

/**
 * What changed between two reads (pure): pods whose UID is new are added,
 * those whose UID went are removed; a changed file is both, as upstream
 * (the UID is the content's hash).
 */
export function diffStaticPods(before: ReadonlyMap<string, Pod>, after: readonly Pod[]): { added: Pod[]; removed: Pod[] } {
  const next = new Set(after.map((p) => p.metadata.uid!));
  return {
    added: after.filter((p) => !before.has(p.metadata.uid!)),
    removed: [...before.values()].filter((p) => !next.has(p.metadata.uid!)),
  };
}

export interface FileSourceOptions {
  path: string;
  nodeName: string;
  /** How often the path is re-read when no event came (--file-check-frequency). */
  checkFrequencyMs: number;
  log: Logger;
  onUpdate(u: PodUpdate): void;
}

export interface FileSource extends PodSource {
  /** Re-reads the path now (tests; the fs watcher). */
  resync(): Promise<void>;
}

/** The manifests' paths: the file itself, or the directory's visible regular files in name order. */
async function manifestFiles(path: string): Promise<string[] | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return undefined;
  }
  if (!st.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink()))
    .map((e) => join(path, e.name))
    .sort();
}

export function newFileSource(o: FileSourceOptions): FileSource {
  const pods = new Map<string, Pod>();
  const lastError = new Map<string, string>();
  let synced = false;
  let missingSaid = false;
  let reading: Promise<void> | undefined;
  let again = false;

  const readOnce = async (): Promise<void> => {
    const files = await manifestFiles(o.path);
    if (!files) {
      if (!missingSaid) o.log.info({ path: o.path }, 'static pod path does not exist (yet); no static pods');
      missingSaid = true;
    } else missingSaid = false;
    const found: Pod[] = [];
    const names = new Set<string>();
    for (const file of files ?? []) {
      try {
        const pod = staticPodFromManifest(await readFile(file, 'utf8'), file, o.nodeName);
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        if (names.has(key)) throw new ManifestError(file, `declares pod ${key}, which an earlier file already does; ignored`);
        names.add(key);
        found.push(pod);
        lastError.delete(file);
      } catch (err) {
        const msg = err instanceof ManifestError ? err.message : `${file}: ${(err as Error).message}`;
        if (lastError.get(file) !== msg) o.log.warn({ file }, `static pod manifest skipped: ${msg}`);
        lastError.set(file, msg);
      }
    }
    for (const f of lastError.keys()) if (!files?.includes(f)) lastError.delete(f);
    const { added, removed } = diffStaticPods(pods, found);
    for (const p of removed) pods.delete(p.metadata.uid!);
    for (const p of added) pods.set(p.metadata.uid!, p);
    // REMOVE before ADD: a changed manifest's old pod stops as the new one starts.
    if (removed.length) o.onUpdate({ op: 'REMOVE', pods: removed, source: 'file' });
    if (added.length) o.onUpdate({ op: 'ADD', pods: added, source: 'file' });
    for (const p of added) o.log.info({ pod: `${p.metadata.namespace}/${p.metadata.name}`, uid: p.metadata.uid }, 'static pod found');
    for (const p of removed) o.log.info({ pod: `${p.metadata.namespace}/${p.metadata.name}`, uid: p.metadata.uid }, 'static pod gone from the manifests');
    synced = true;
  };

  /** One read at a time; a request during a read makes one more read after it. */
  const resync = async (): Promise<void> => {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        await readOnce().catch((err: unknown) => o.log.warn({ path: o.path, err: (err as Error).message }, 'reading the static pod path failed'));
      } while (again);
    })().finally(() => (reading = undefined));
    return reading;
  };

  return {
    hasSynced: () => synced,
    get: (uid) => pods.get(uid),
    list: () => [...pods.values()],
    resync,
    run: async (signal) => {
      let watcher: FSWatcher | undefined;
      let timer: NodeJS.Timeout | undefined;
      const onEvent = () => {
        // A burst of events (an editor's rename dance) is one read.
        clearTimeout(timer);
        timer = setTimeout(() => void resync(), 100);
      };
      const ensureWatch = () => {
        if (watcher) return;
        try {
          watcher = watch(o.path, { persistent: false });
          watcher.on('change', onEvent);
          // The directory itself went: polling goes on, the watch is made again once it is back.
          watcher.on('error', () => {
            watcher?.close();
            watcher = undefined;
          });
        } catch {
          watcher = undefined;
        }
      };
      while (!signal.aborted) {
        await resync();
        ensureWatch();
        await sleep(o.checkFrequencyMs, signal).catch(() => undefined);
      }
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
