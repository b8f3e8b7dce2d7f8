import { StatusError } from '../../src/apiserver/status.js';

/** The Status a call throws (code, reason, message); fails the test when it throws something else or nothing. */
export function statusOf(fn: () => unknown): { code: number; reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return { code: err.code, reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error('expected a StatusError');
}

/** The StatusError a promise rejects with; fails the test when it rejects with something else or resolves. */
export async function failure(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error('expected a StatusError');
}
