import type { Pod } from '@pilot/api';

// The apiserver-start helpers live in the harness, shared with every suite.
export { freeLocalPort, startInProcess, type InProcess } from '@pilot/netns';

export interface RawReply {
  status: number;
  body: any;
}

/** A raw HTTP request (for status codes and headers the client hides). */
export async function raw(url: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawReply> {
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

export const pod = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra },
});
