import { FlagError } from '@pilot/common';
import { ALLOW, type Attributes, type Authorizer, type AuthorizerResult } from './attributes.js';

/**
 * `--authorization-mode` (kube-apiserver's flag): authorizers asked in the
 * order given; the first to allow or deny decides, and when none does the
 * request is refused with every reason they gave.
 */

export const AUTHORIZATION_MODES = ['AlwaysAllow', 'AlwaysDeny', 'Node', 'RBAC'] as const;
export type AuthorizationMode = (typeof AUTHORIZATION_MODES)[number];

/** pilot's default, as kubeadm sets it. */
export const DEFAULT_AUTHORIZATION_MODE = 'Node,RBAC';

export function parseAuthorizationModes(text: string): AuthorizationMode[] {
  const modes = text.split(',').map((m) => m.trim()).filter(Boolean);
  if (modes.length === 0) throw new FlagError('authorization-mode', 'at least one mode is required (AlwaysAllow, AlwaysDeny, Node, RBAC)');
  const seen = new Set<string>();
  for (const m of modes) {
    if (!(AUTHORIZATION_MODES as readonly string[]).includes(m)) throw new FlagError('authorization-mode', `unknown mode "${m}": want a comma-separated list of ${AUTHORIZATION_MODES.join(', ')}`);
    if (seen.has(m)) throw new FlagError('authorization-mode', `"${m}" is given twice`);
    seen.add(m);
  }
  return modes as AuthorizationMode[];
}

export const alwaysAllow: Authorizer = { authorize: () => ALLOW };
export const alwaysDeny: Authorizer = { authorize: () => ({ decision: 'deny', reason: 'Everything is forbidden.' }) };

export function unionAuthorizer(authorizers: readonly Authorizer[]): Authorizer {
  return {
    async authorize(a: Attributes): Promise<AuthorizerResult> {
      const reasons: string[] = [];
      for (const z of authorizers) {
        const r = await z.authorize(a);
        if (r.decision !== 'noOpinion') return r;
        if (r.reason) reasons.push(r.reason);
      }
      return { decision: 'noOpinion', reason: reasons.join(', ') };
    },
  };
}
