import type { Status, StatusCause } from '@pilot/api';

/**
 * Every failure the apiserver answers is a metav1.Status with the HTTP code,
 * a machine reason and a message kubectl prints as
 * `Error from server (<reason>): <message>`. Handlers throw StatusError; the
 * server turns it into the reply, so nothing else needs to know HTTP.
 */
export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Status['details'],
  ) {
    super(message);
    this.name = 'StatusError';
  }

  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details) s.details = this.details;
    return s;
  }
}

export const badRequest = (message: string) => new StatusError(400, 'BadRequest', message);
export const unauthorized = () => new StatusError(401, 'Unauthorized', 'Unauthorized');
export const notFound = (resource: string, name: string) =>
  new StatusError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
export const pathNotFound = (path: string) => new StatusError(404, 'NotFound', `the server could not find the requested resource (${path})`);
export const methodNotAllowed = (method: string, what: string) =>
  new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource: ${method} ${what}`);
export const alreadyExists = (resource: string, name: string) =>
  new StatusError(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
export const conflict = (resource: string, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again') =>
  new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, { name, kind: resource });
export const expired = (message = 'The resourceVersion for the provided watch is too old.') => new StatusError(410, 'Expired', message);
export const tooLarge = (limit: number) => new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
export const unsupportedMediaType = (type: string) =>
  new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json (got "${type}")`);
export const serviceUnavailable = (message: string) => new StatusError(503, 'ServiceUnavailable', message);
export const internalError = (message: string) => new StatusError(500, 'InternalError', `Internal error occurred: ${message}`);

/** A field problem, as validation reports it. */
export interface FieldProblem {
  type: string;
  field: string;
  message: string;
}

/** 422 Invalid: kubectl builds its line from details.kind, details.name and the causes. */
export function invalid(kind: string, name: string, problems: readonly FieldProblem[]): StatusError {
  const causes: StatusCause[] = problems.map((p) => ({ type: p.type, reason: p.type, message: p.message, field: p.field }));
  const summary = problems.map((p) => `${p.field}: ${p.message}`).join(', ');
  return new StatusError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, { name, kind, causes });
}

export function successStatus(details?: Status['details']): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) s.details = details;
  return s;
}
