import { APPS_V1_KINDS } from './apps-v1.js';
import { BATCH_POLICY_V1_KINDS } from './batch-policy-v1.js';
import { CORE_V1_KINDS } from './core-v1.js';
import { RBAC_V1_KINDS } from './rbac-v1.js';
import { decodeEnvelope } from './envelope.js';
import { decodeMessage, type MessageDesc } from './schema.js';
import { ProtobufError } from './wire.js';

/** The envelope names a kind this decoder has no description for (the apiserver answers 415). */
export class UnknownProtobufKindError extends Error {
  constructor(
    readonly apiVersion: string,
    readonly kind: string,
  ) {
    super(`protobuf bodies of kind ${kind} (${apiVersion}) are not supported; send application/json`);
    this.name = 'UnknownProtobufKindError';
  }
}

/** Every kind a protobuf body may carry. */
const SERVED_KINDS: Readonly<Record<string, MessageDesc>> = { ...CORE_V1_KINDS, ...RBAC_V1_KINDS, ...BATCH_POLICY_V1_KINDS, ...APPS_V1_KINDS };

/**
 * Decodes a whole `application/vnd.kubernetes.protobuf` body into the plain
 * object the JSON path would have parsed: apiVersion and kind from the
 * envelope first, then the message's fields. Malformed bytes throw
 * ProtobufError; a kind without a description throws UnknownProtobufKindError.
 */
export function decodeKubernetesProtobuf(buf: Uint8Array, kinds: Readonly<Record<string, MessageDesc>> = SERVED_KINDS): Record<string, unknown> {
  const env = decodeEnvelope(buf);
  const desc = kinds[`${env.apiVersion}/${env.kind}`];
  if (!desc) throw new UnknownProtobufKindError(env.apiVersion, env.kind);
  if (env.contentType !== '' && env.contentType !== 'application/vnd.kubernetes.protobuf') throw new ProtobufError(`unsupported inner contentType "${env.contentType}"`);
  return { apiVersion: env.apiVersion, kind: env.kind, ...decodeMessage(env.raw, desc) };
}
