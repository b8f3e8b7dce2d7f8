import * as api from '@pilot/api';
import type { ListOptions } from '../registry/access.js';
import { badRequest, fromStatus } from '../status.js';

/**
 * A list request's options from its query, validated as kube-apiserver's
 * ValidateListOptions does: `resourceVersionMatch` needs a `resourceVersion`,
 * cannot go with `continue`, is `Exact` or `NotOlderThan`, and `Exact` is
 * not for "0" — each a 422 Invalid on ListOptions.meta.k8s.io. What the
 * values mean (which revision a list is read at) is the registry's.
 */

type Problem = { reason: 'FieldValueForbidden' | 'FieldValueNotSupported' | 'FieldValueInvalid'; field: string; message: string };

export function listOptions(q: URLSearchParams, limit: number | undefined): ListOptions {
  const rv = q.get('resourceVersion') ?? '';
  const match = q.get('resourceVersionMatch') ?? '';
  const cont = q.get('continue') ?? '';
  const problems: Problem[] = [];
  if (match !== '') {
    if (rv === '') problems.push(forbidden('resourceVersionMatch is forbidden unless resourceVersion is provided'));
    if (cont !== '') problems.push(forbidden('resourceVersionMatch is forbidden when continue is provided'));
    if (match !== 'Exact' && match !== 'NotOlderThan')
      problems.push({ reason: 'FieldValueNotSupported', field: 'resourceVersionMatch', message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan", ""` });
    if (match === 'Exact' && rv === '0') problems.push(forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
  }
  if (problems.length > 0) throw invalidListOptions(problems);
  if (rv !== '' && !/^\d+$/.test(rv)) throw badRequest(`invalid resourceVersion "${rv}": must be a non-negative integer`);
  // kube-apiserver's etcd store: a continue token carries its own revision.
  if (cont !== '' && rv !== '' && rv !== '0') throw badRequest('specifying resource version is not allowed when using continue');
  return {
    labelSelector: q.get('labelSelector') ?? '',
    fieldSelector: q.get('fieldSelector') ?? '',
    ...(limit !== undefined ? { limit } : {}),
    ...(cont !== '' ? { continue: cont } : {}),
    ...(rv !== '' ? { resourceVersion: rv } : {}),
    ...(match !== '' ? { resourceVersionMatch: match } : {}),
  };
}

function forbidden(message: string): Problem {
  return { reason: 'FieldValueForbidden', field: 'resourceVersionMatch', message: `Forbidden: ${message}` };
}

/** apierrors.NewInvalid(GroupKind{meta.k8s.io, ListOptions}, "", errs). */
function invalidListOptions(problems: readonly Problem[]) {
  const each = problems.map((p) => `${p.field}: ${p.message}`);
  const list = each.length === 1 ? each[0]! : `[${each.join(', ')}]`;
  return fromStatus(
    api.statusFor(422, 'Invalid', `ListOptions.meta.k8s.io "" is invalid: ${list}`, {
      group: 'meta.k8s.io',
      kind: 'ListOptions',
      name: '',
      causes: problems.map((p) => ({ reason: p.reason, message: p.message, field: p.field })),
    }),
  );
}
