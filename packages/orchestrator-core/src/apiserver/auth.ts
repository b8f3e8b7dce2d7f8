import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Static bearer tokens (`--token-auth-file`, kube-apiserver's format): CSV
 * lines `token,user,uid[,"group1,group2"]`. Only the secure port
 * authenticates; the insecure port is loopback-only and trusted.
 */

export interface UserInfo {
  name: string;
  uid: string;
  groups: string[];
}

export class TokenFileError extends Error {}

export const AUTHENTICATED_GROUP = 'system:authenticated';

export function parseTokenFile(text: string, path = 'token file'): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = splitCsv(line);
    if (fields.length < 3 || !fields[0] || !fields[1]) throw new TokenFileError(`${path}:${i + 1}: want token,user,uid[,"groups"]`);
    const groups = fields[3] ? fields[3].split(',').map((g) => g.trim()).filter(Boolean) : [];
    // Every authenticated user is in system:authenticated (upstream's AuthenticatedGroupAdder), which the discovery roles are bound to.
    if (!groups.includes(AUTHENTICATED_GROUP)) groups.push(AUTHENTICATED_GROUP);
    tokens.set(fields[0], { name: fields[1], uid: fields[2] ?? '', groups });
  });
  if (tokens.size === 0) throw new TokenFileError(`${path}: no tokens`);
  return tokens;
}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

export function loadTokenFile(path: string): Map<string, UserInfo> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TokenFileError(`cannot read --token-auth-file ${path}: ${(err as Error).message}`);
  }
  return parseTokenFile(text, path);
}

/** The user behind the request's bearer token, or undefined (→ 401). */
export function authenticate(req: IncomingMessage, tokens: ReadonlyMap<string, UserInfo>): UserInfo | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) return undefined;
  const given = Buffer.from(m[1]!);
  for (const [token, user] of tokens) {
    const t = Buffer.from(token);
    if (t.length === given.length && timingSafeEqual(t, given)) return user;
  }
  return undefined;
}
