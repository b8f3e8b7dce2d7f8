/**
 * One error type for every patch failure. `code` is the HTTP status the
 * apiserver should answer with, as Kubernetes does: 400 for a malformed patch
 * document, 422 when a well-formed patch cannot be applied to this object
 * (a JSON-patch path that does not exist, a failed `test`), 415 for a patch
 * type we do not implement.
 */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly code: 400 | 415 | 422 = 400,
    /** Where in the document (or which operation) the problem is, when known. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}
