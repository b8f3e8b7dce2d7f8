import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { ControlPlane } from '@pilot/netns';

export interface SecureReply {
  status: number;
  /** The parsed JSON body, or the text when it is not JSON. */
  body: any;
  /** `Warning` header values, one per warning. */
  warnings: string[];
}

/**
 * One request to the control plane's TLS port with the admin token, body sent
 * byte for byte (the client libraries would re-encode it), for status codes,
 * messages and Warning headers.
 */
export function secureRaw(cp: ControlPlane, method: string, path: string, body?: string, contentType = 'application/json'): Promise<SecureReply> {
  const url = new URL(cp.url);
  const ca = readFileSync(cp.pki.caFile);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        ca,
        headers: { authorization: `Bearer ${cp.pki.token}`, ...(body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          // headersDistinct: one entry per header line (headers.warning joins them with ", ").
          resolve({ status: res.statusCode ?? 0, body: parsed, warnings: res.headersDistinct.warning ?? [] });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
    req.end(body);
  });
}
