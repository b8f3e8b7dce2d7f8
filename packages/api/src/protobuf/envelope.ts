import { ProtobufError, readFields } from './wire.js';

/**
 * Kubernetes' protobuf envelope (apimachinery runtime/serializer/protobuf):
 * the 4 bytes `k8s\0`, then a runtime.Unknown message
 *   1: typeMeta {1: apiVersion, 2: kind}
 *   2: raw (the object's own message bytes)
 *   3: contentEncoding, 4: contentType
 */
export const K8S_PROTOBUF_MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);
export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(v: Uint8Array, what: string): string {
  try {
    return utf8.decode(v);
  } catch {
    throw new ProtobufError(`${what} is not valid UTF-8`);
  }
}

export function hasProtobufMagic(buf: Uint8Array): boolean {
  return buf.length >= 4 && K8S_PROTOBUF_MAGIC.every((b, i) => buf[i] === b);
}

/** Opens the envelope; a body without the magic or without a kind is refused. */
export function decodeEnvelope(buf: Uint8Array): Envelope {
  if (!hasProtobufMagic(buf)) throw new ProtobufError('the body does not start with the Kubernetes protobuf magic "k8s\\0"');
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  let sawRaw = false;
  for (const f of readFields(buf.subarray(4))) {
    if (f.wire !== 2) continue;
    if (f.num === 1) {
      for (const t of readFields(f.value)) {
        if (t.wire !== 2) continue;
        if (t.num === 1) env.apiVersion = text(t.value, 'typeMeta.apiVersion');
        else if (t.num === 2) env.kind = text(t.value, 'typeMeta.kind');
      }
    } else if (f.num === 2) {
      env.raw = f.value;
      sawRaw = true;
    }
    else if (f.num === 3) env.contentEncoding = text(f.value, 'contentEncoding');
    else if (f.num === 4) env.contentType = text(f.value, 'contentType');
  }
  if (env.kind === '') throw new ProtobufError('the envelope names no kind (typeMeta.kind is empty)');
  if (!sawRaw) throw new ProtobufError(`the envelope for ${env.kind} carries no object (runtime.Unknown.raw is missing)`);
  if (env.contentEncoding !== '') throw new ProtobufError(`unsupported contentEncoding "${env.contentEncoding}"`);
  return env;
}
