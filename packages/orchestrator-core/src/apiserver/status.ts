import * as api from '@pilot/api';
import type { Status, StatusDetails } from '@pilot/api';

/**
 * Every failure the apiserver answers is a metav1.Status with the HTTP code,
 * a machine reason and a message kubectl prints as
 * `Error from server (<reason>): <message>`. The Status bodies come from
 * @pilot/api's builders (errors.ts), the one place they are worded; this
 * module only wraps them in a throwable so handlers can `throw notFound(...)`
 * and the server turns it into the reply, so nothing else needs to know HTTP.
 */
export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: StatusDetails;

  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? `status ${status.code}`);
    this.name = 'StatusError';
    this.code = status.code;
    this.reason = status.reason ?? 'Unknown';
    if (status.details) this.details = status.details;
  }

  toStatus(): Status {
    return structuredClone(this.status);
  }
}

const wrap = (s: Status) => new StatusError(s);

export const badRequest = (message: string) => wrap(api.badRequest(message));
export const unauthorized = () => wrap(api.unauthorized());
export const forbidden = (message: string, details?: StatusDetails) => wrap(api.statusFor(403, 'Forbidden', message, details));
export const notFound = (resource: string, name: string) => wrap(api.notFound(resource, name));
export const pathNotFound = (path: string) => wrap(api.statusFor(404, 'NotFound', `the server could not find the requested resource (${path})`));
export const methodNotAllowed = (method: string, what: string) => wrap(api.methodNotAllowed(method, what));
export const alreadyExists = (resource: string, name: string) => wrap(api.alreadyExists(resource, name));
export const conflict = (resource: string, name: string, why?: string) => wrap(api.conflict(resource, name, why));
export const expired = (message?: string) => wrap(api.expired(message));
export const tooLarge = (limit: number) => wrap(api.requestEntityTooLarge(limit));
export const unsupportedMediaType = (type: string) => wrap(api.unsupportedMediaType(type));
export const serviceUnavailable = (message: string) => wrap(api.serviceUnavailable(message));
export const internalError = (message: string) => wrap(api.internalError(message));
export const fromStatus = (s: Status) => wrap(s);

/** kube-apiserver's storage.NewTooLargeResourceVersionError: 504, clients retry after a second. */
export const tooLargeResourceVersion = (asked: number, current: number) =>
  wrap(
    api.statusFor(504, 'Timeout', `Timeout: Too large resource version: ${asked}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
  );

/** 400 for a name or namespace that cannot be one path segment (kube-apiserver's key functions' wording), else undefined. */
export function pathSegmentError(what: 'Name' | 'Namespace', value: string): StatusError | undefined {
  const problems = api.pathSegmentNameErrors(value);
  return problems.length > 0 ? badRequest(`${what} parameter invalid: ${JSON.stringify(value)}: ${problems.join(';')}`) : undefined;
}

/** A field problem, as validation reports it (message already worded, e.g. `Required value`). */
export interface FieldProblem {
  type: string;
  field: string;
  message: string;
}

/**
 * 422 Invalid: kubectl builds its line from details.kind, details.name and the
 * causes. The problems carry worded messages, so this goes through statusFor
 * with the same message layout as @pilot/api's `invalid` (one bare, several in brackets).
 */
export function invalid(kind: string, name: string, problems: readonly FieldProblem[]): StatusError {
  const causes = problems.map((p) => ({ type: p.type, reason: p.type, message: p.message, field: p.field }));
  const each = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message));
  const list = each.length === 0 ? 'invalid object' : each.length === 1 ? each[0]! : `[${each.join(', ')}]`;
  return wrap(api.statusFor(422, 'Invalid', `${kind} "${name}" is invalid: ${list}`, { name, kind, causes }));
}

export const successStatus = (details?: StatusDetails, code = 200): Status => api.successStatus(details, code);
