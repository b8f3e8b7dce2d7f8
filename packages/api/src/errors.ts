/**
 * API errors as Kubernetes reports them: a Status object with code, reason,
 * message and details. The apiserver builds them with the helpers below; the
 * client throws ApiError carrying the Status it received.
 */
import type { Status, StatusCause, StatusDetails } from './types.js';
import type { FieldError } from './validation.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'Unknown';

/** A Failure Status. */
export function statusFor(code: number, reason: StatusReason | string, message: string, details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** A Success Status (e.g. the reply to DELETE or to a binding). */
export function successStatus(details?: StatusDetails, code = 200): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code };
}

function qualified(resource: string, group?: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(resource: string, name: string, group?: string): Status {
  return statusFor(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, kind: resource, ...(group ? { group } : {}) });
}

export function alreadyExists(resource: string, name: string, group?: string): Status {
  return statusFor(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, {
    name,
    kind: resource,
    ...(group ? { group } : {}),
  });
}

export function conflict(resource: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again', group?: string): Status {
  return statusFor(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
    name,
    kind: resource,
    ...(group ? { group } : {}),
  });
}

/** Field errors → causes, in the shape kubectl prints (`<field>: <message>`). */
export function causesOf(errors: readonly FieldError[]): StatusCause[] {
  return errors.map((e) => ({ type: e.type, reason: e.type, message: fieldErrorMessage(e), field: e.field }));
}

/** Message of a single field error as Kubernetes words it, e.g. `Invalid value: 70000: must be between 1 and 65535, inclusive`. */
export function fieldErrorMessage(e: FieldError): string {
  const head = FIELD_ERROR_HEADS[e.type];
  const detail = e.message ? `: ${e.message}` : '';
  switch (e.type) {
    case 'FieldValueRequired':
    case 'FieldValueForbidden':
    case 'FieldValueTooLong':
      return `${head}${detail}`;
    case 'FieldValueDuplicate':
      return `${head}: ${JSON.stringify(e.value ?? '')}`;
    default:
      return e.value === undefined ? `${head}${detail}` : `${head}: ${JSON.stringify(e.value)}${detail}`;
  }
}

const FIELD_ERROR_HEADS: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
};

/** 422 with one cause per field error; `kind` is the object's Kind (`Pod`), as kubectl prints it. */
export function invalid(kind: string, name: string, errors: readonly FieldError[], group?: string): Status {
  const each = errors.map((e) => (e.field ? `${e.field}: ${fieldErrorMessage(e)}` : fieldErrorMessage(e)));
  // One error reads bare, several in brackets, as apimachinery's NewInvalid words it.
  const list = each.length === 0 ? 'invalid object' : each.length === 1 ? each[0]! : `[${each.join(', ')}]`;
  return statusFor(422, 'Invalid', `${kind} "${name}" is invalid: ${list}`, {
    name,
    kind,
    ...(group ? { group } : {}),
    causes: causesOf(errors),
  });
}

export function badRequest(message: string): Status {
  return statusFor(400, 'BadRequest', message);
}

export function unauthorized(message = 'Unauthorized'): Status {
  return statusFor(401, 'Unauthorized', message);
}

export function forbidden(message: string): Status {
  return statusFor(403, 'Forbidden', message);
}

export function methodNotAllowed(method: string, what: string): Status {
  return statusFor(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource: ${method} ${what}`);
}

/** 410 Expired: a watch or list from a compacted resourceVersion. */
export function expired(message = 'The resourceVersion for the provided watch is too old.'): Status {
  return statusFor(410, 'Expired', message);
}

export function gone(message: string): Status {
  return statusFor(410, 'Gone', message);
}

export function requestEntityTooLarge(limitBytes: number): Status {
  return statusFor(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes} bytes`);
}

export function unsupportedMediaType(contentType: string): Status {
  return statusFor(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/merge-patch+json, application/json-patch+json, application/strategic-merge-patch+json (got "${contentType}")`);
}

export function internalError(message: string): Status {
  return statusFor(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function serviceUnavailable(message: string): Status {
  return statusFor(503, 'ServiceUnavailable', message);
}

/** Thrown by the client for any non-2xx answer or watch ERROR event. */
export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(readonly status: Status) {
    super(status.message ?? `${status.reason ?? 'Unknown'} (${status.code})`);
    this.name = 'ApiError';
    this.code = status.code;
    this.reason = status.reason ?? 'Unknown';
  }

  /** Builds an ApiError from a response that did not carry a Status body. */
  static fromResponse(code: number, body: string, what: string): ApiError {
    const reason = reasonForCode(code);
    const text = body.trim().split('\n')[0]?.slice(0, 300) ?? '';
    return new ApiError(statusFor(code, reason, `${what}: ${code} ${reason}${text ? `: ${text}` : ''}`));
  }
}

/** The usual reason for an HTTP code, for servers that answer without a Status. */
export function reasonForCode(code: number): StatusReason {
  switch (code) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 405: return 'MethodNotAllowed';
    case 409: return 'Conflict';
    case 410: return 'Expired';
    case 413: return 'RequestEntityTooLarge';
    case 415: return 'UnsupportedMediaType';
    case 422: return 'Invalid';
    case 429: return 'TooManyRequests';
    case 500: return 'InternalError';
    case 503: return 'ServiceUnavailable';
    case 504: return 'Timeout';
    default: return 'Unknown';
  }
}

/** True for a Status-shaped value. */
export function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.code === 404;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason === 'AlreadyExists';
}

/** A 409 from an optimistic-concurrency failure (stale resourceVersion), not AlreadyExists. */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiError && err.code === 409 && err.reason !== 'AlreadyExists';
}

/** 410: the resourceVersion is too old (compacted); relist. */
export function isGone(err: unknown): boolean {
  return err instanceof ApiError && err.code === 410;
}

/** 403: the authorizer (or admission) refused the request. */
export function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.code === 403;
}

export function isInvalid(err: unknown): boolean {
  return err instanceof ApiError && err.code === 422;
}

/**
 * A create refused because its namespace is being deleted (403 with the
 * NamespaceTerminating cause): nothing to retry, the namespace's objects go.
 */
export function isNamespaceTerminating(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.code !== 403) return false;
  return err.status.details?.causes?.some((c) => c.type === 'NamespaceTerminating' || c.reason === 'NamespaceTerminating') ?? false;
}
