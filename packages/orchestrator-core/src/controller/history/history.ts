/**
 * ControllerRevision history as pure data (pkg/controller/history and
 * controller_utils.go's ComputeHash), shared by the DaemonSet and
 * StatefulSet controllers: a revision holds a strategic merge patch that
 * replaces the owner's pod template, `{"spec":{"template":{…,"$patch":"replace"}}}`
 * (what `kubectl rollout undo` applies); revisions are numbered 1, 2, …; a
 * template that returns to an earlier one reuses that revision with a new,
 * higher number (a rollback), and the history keeps `revisionHistoryLimit`
 * revisions no pod still runs.
 *
 * Hashes are fnv32 / fnv32a over a canonical JSON (keys sorted) instead of
 * upstream's spew dump of the Go struct, encoded with upstream's safe
 * alphabet: not equal to upstream's values, but stable across restarts,
 * processes and key order.
 */
import { CONTROLLER_REVISION_HASH_LABEL, type ControllerRevision, type KubeObject, type OwnerReference, type PodTemplateSpec } from '@pilot/api';

/** revisionHistoryLimit's default for DaemonSets and StatefulSets. */
export const DEFAULT_REVISION_HISTORY_LIMIT = 10;
/** rand.SafeEncodeString's alphabet: no vowels, no 0/1/3 (no words, no look-alikes). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with every object's keys sorted and undefined members dropped: the same value always prints the same. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(canonical(v));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = canonical(o[k]);
    return out;
  }
  return v;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1 (hash/fnv New32): multiply, then xor. */
export function fnv32(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (const b of bytes) h = (Math.imul(h, FNV_PRIME) ^ b) >>> 0;
  return h >>> 0;
}

/** FNV-1a (hash/fnv New32a): xor, then multiply. */
export function fnv32a(bytes: Uint8Array, h = FNV_OFFSET): number {
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  return h >>> 0;
}

/** rand.SafeEncodeString: each byte of the string to one letter of the safe alphabet. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * controller.ComputeHash: fnv32a over the template (canonical JSON) and,
 * when set, collisionCount as 8 little-endian bytes; the decimal value safe-encoded.
 * The DaemonSet's `controller-revision-hash`.
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let h = fnv32a(utf8(canonicalJson(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncodeString(String(h));
}

/**
 * history.HashControllerRevision: fnv32 over the revision's data (canonical
 * JSON) and, when set, the collision probe in decimal. The StatefulSet's
 * revision name suffix.
 */
export function hashControllerRevision(data: unknown, probe?: number): string {
  let h = fnv32(utf8(canonicalJson(data)));
  if (probe !== undefined && probe !== null) h = fnv32(utf8(String(probe)), h);
  return safeEncodeString(String(h));
}

/** history.ControllerRevisionName: `<prefix>-<hash>`, the prefix cut to 223 characters. */
export function controllerRevisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/** getPatch: the patch that puts this template back (`$patch: replace`, so nothing of a later template survives). */
export function templatePatch(template: PodTemplateSpec | undefined): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...structuredClone(template ?? {}), $patch: 'replace' } } };
}

/** The pod template a revision holds (its patch without the directive), or undefined for data of another shape. */
export function revisionTemplate(rev: Pick<ControllerRevision, 'data'>): PodTemplateSpec | undefined {
  const data = rev.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const t = data?.spec?.template;
  if (!t || typeof t !== 'object') return undefined;
  const { $patch: _directive, ...rest } = t;
  return rest as PodTemplateSpec;
}

/** Whether the revision holds this template (daemon's Match / history's EqualRevision, compared canonically). */
export function revisionMatches(rev: Pick<ControllerRevision, 'data'>, template: PodTemplateSpec | undefined): boolean {
  return canonicalJson(rev.data) === canonicalJson(templatePatch(template));
}

/** history.SortControllerRevisions: by revision, then creation time, then name. */
export function sortRevisions<T extends ControllerRevision>(revs: readonly T[]): T[] {
  return [...revs].sort(
    (a, b) =>
      a.revision - b.revision ||
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
}

export function maxRevision(revs: readonly ControllerRevision[]): number {
  let max = 0;
  for (const r of revs) max = Math.max(max, r.revision);
  return max;
}

/** history.NewControllerRevision: the owner's revision of a template, its labels the template's plus the hash label. */
export function newControllerRevision(
  owner: KubeObject,
  ref: OwnerReference,
  template: PodTemplateSpec | undefined,
  name: string,
  hashLabel: string,
  revision: number,
): ControllerRevision {
  const rev: ControllerRevision = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...(template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hashLabel },
      ownerReferences: [ref],
    },
    data: templatePatch(template),
    revision,
  };
  if (owner.metadata.annotations && Object.keys(owner.metadata.annotations).length) rev.metadata.annotations = { ...owner.metadata.annotations };
  return rev;
}

/**
 * Which old revisions to delete (daemon's cleanupHistory, stateful's
 * truncateHistory): those not `live` (the current ones, and any a pod still
 * runs), oldest first, beyond the newest `limit` of them.
 */
export function revisionsToPrune(revs: readonly ControllerRevision[], live: ReadonlySet<string>, limit: number): ControllerRevision[] {
  const old = sortRevisions(revs.filter((r) => !live.has(r.metadata.name ?? '')));
  const excess = old.length - Math.max(0, limit);
  return excess > 0 ? old.slice(0, excess) : [];
}

export interface RevisionChoice {
  /** The newest revision holding the template, if any. */
  match: ControllerRevision | undefined;
  /** Older revisions holding the same template (daemon's dedupCurHistories deletes them). */
  duplicates: ControllerRevision[];
  /**
   * The number the template's revision must carry: one more than every
   * other revision. A match below it is renumbered (a rollback to an older
   * template makes it the newest); without a match a revision of this number is created.
   */
  revision: number;
}

/** Which revision is the owner's current template (daemon's constructHistory, stateful's getStatefulSetRevisions). */
export function chooseRevision(revs: readonly ControllerRevision[], template: PodTemplateSpec | undefined): RevisionChoice {
  const sorted = sortRevisions(revs);
  const matches = sorted.filter((r) => revisionMatches(r, template));
  const others = sorted.filter((r) => !matches.includes(r));
  const match = matches.at(-1);
  return { match, duplicates: matches.slice(0, -1), revision: maxRevision(others) + 1 };
}
