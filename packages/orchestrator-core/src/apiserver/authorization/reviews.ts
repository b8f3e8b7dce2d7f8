import { apiVersionOf, isObject, type AccessReview, type KubeObject, type ResourceAttributes, type ResourceInfo, type SubjectAccessReviewSpec } from '@pilot/api';
import type { UserInfo } from '../auth.js';
import { badRequest, invalid } from '../status.js';
import { pathAttributes, resourceAttributes, type Attributes, type Authorizer } from './attributes.js';
import { requestUser } from './request-user.js';

/**
 * authorization.k8s.io/v1 access reviews (pkg/registry/authorization): a
 * POST is answered by the authorizer and nothing is stored.
 * SelfSubjectAccessReview asks about the requesting user (`kubectl auth
 * can-i`); SubjectAccessReview about any user and groups (creating one is
 * itself authorized, so only those allowed to may ask);
 * LocalSubjectAccessReview the same within the request's namespace.
 */

function reviewAttributes(kind: string, review: AccessReview, user: UserInfo): Attributes {
  const spec = isObject(review.spec) ? (review.spec as SubjectAccessReviewSpec) : {};
  const ra = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nra = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  if ((ra === undefined) === (nra === undefined))
    throw invalid(kind, '', [{ type: 'FieldValueInvalid', field: 'spec.resourceAttributes', message: `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified` }]);
  if (nra) return pathAttributes(user, text(nra.verb), text(nra.path));
  return resourceAttributes(user, text(ra!.verb), { group: text(ra!.group), version: text(ra!.version), resource: text(ra!.resource) }, {
    namespace: text(ra!.namespace),
    name: text(ra!.name),
    subresource: text(ra!.subresource),
  });
}

/** The POST of a review resource: the body with its status filled in. */
export function answerReview(authorizer: () => Authorizer) {
  return async (r: ResourceInfo, namespace: string | undefined, body: unknown): Promise<KubeObject> => {
    if (!isObject(body)) throw badRequest(`the body must be a JSON object describing a ${r.kind}`);
    const review = structuredClone(body) as unknown as AccessReview;
    if (!isObject(review.spec)) review.spec = {};
    const spec = review.spec;
    let user: UserInfo;
    if (r.kind === 'SelfSubjectAccessReview') {
      user = requestUser() ?? { name: '', uid: '', groups: [] };
    } else {
      const groups = Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [];
      const name = typeof spec.user === 'string' ? spec.user : '';
      if (!name && !groups.length)
        throw invalid(r.kind, '', [{ type: 'FieldValueRequired', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' }]);
      user = { name, uid: typeof spec.uid === 'string' ? spec.uid : '', groups };
    }
    if (r.kind === 'LocalSubjectAccessReview') {
      if (spec.nonResourceAttributes) throw invalid(r.kind, '', [{ type: 'FieldValueInvalid', field: 'spec.nonResourceAttributes', message: 'Invalid value: disallowed on this kind of request' }]);
      const ra: ResourceAttributes = isObject(spec.resourceAttributes) ? spec.resourceAttributes : {};
      spec.resourceAttributes = ra;
      if (!ra.namespace) ra.namespace = namespace ?? '';
      else if (ra.namespace !== namespace) throw badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace ?? ''}`);
    }
    const decision = await authorizer().authorize(reviewAttributes(r.kind, review, user));
    const meta = isObject(review.metadata) ? review.metadata : {};
    return {
      ...review,
      apiVersion: apiVersionOf(r),
      kind: r.kind,
      metadata: { ...meta, creationTimestamp: null } as unknown as KubeObject['metadata'],
      status: {
        allowed: decision.decision === 'allow',
        ...(decision.decision === 'deny' ? { denied: true } : {}),
        ...(decision.reason ? { reason: decision.reason } : {}),
      },
    };
  };
}
