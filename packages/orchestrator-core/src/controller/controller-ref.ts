/**
 * Adoption and release (controller_ref_manager.go's ClaimObject): which pods
 * a controller owns, which orphans it adopts and which of its pods it lets go.
 *
 * - controlled by someone else: not ours, never touched;
 * - controlled by us and matching: ours;
 * - controlled by us, no longer matching: released (its controller
 *   reference removed), unless we are being deleted;
 * - an orphan that matches, in our namespace, not being deleted, while we are
 *   not being deleted: adopted (our controller reference added), after a
 *   fresh read of the owner proves it still exists with the same UID
 *   (RecheckDeletionTimestamp), so a controller deleted and recreated under
 *   the same name never adopts its predecessor's pods by mistake.
 */
import { controllerRefOf, labelSelectorFromObject, NAMESPACE_INDEX, type Indexer, type KubeObject, type LabelSelectorSpec, type OwnerReference } from '@pilot/api';

/**
 * The owner of `kind` that obj's controller reference names, if the store
 * still holds that same object (same UID: not a namesake created since).
 */
export function resolveControllerRef<T extends KubeObject>(owners: Indexer<T>, kind: string, obj: KubeObject): T | undefined {
  const ref = controllerRefOf(obj);
  if (!ref || ref.kind !== kind) return undefined;
  const owner = owners.getByName(obj.metadata.namespace, ref.name);
  return owner && owner.metadata.uid === ref.uid ? owner : undefined;
}

/**
 * The owners in obj's namespace whose selector matches its labels (the ones
 * that might adopt it as an orphan); an owner without a selector, or with one
 * that does not parse, matches nothing. Needs the owners' NAMESPACE_INDEX.
 */
export function selectingOwners<T extends KubeObject & { spec?: { selector?: LabelSelectorSpec } }>(owners: Indexer<T>, obj: KubeObject): T[] {
  return owners.byIndex(NAMESPACE_INDEX, obj.metadata.namespace ?? '').filter((o) => {
    try {
      return o.spec?.selector !== undefined && labelSelectorFromObject(o.spec.selector).matches(obj.metadata.labels);
    } catch {
      return false;
    }
  });
}

export type Claim = 'own' | 'adopt' | 'release' | 'ignore';

/** The pure decision for one object; `matches` is the owner's selector applied to it. */
export function claimDecision(owner: KubeObject, obj: KubeObject, matches: boolean): Claim {
  const ref = controllerRefOf(obj);
  const ownerDeleting = Boolean(owner.metadata.deletionTimestamp);
  if (ref) {
    if (ref.uid !== owner.metadata.uid) return 'ignore';
    if (matches) return 'own';
    return ownerDeleting ? 'ignore' : 'release';
  }
  if (ownerDeleting || !matches) return 'ignore';
  if (obj.metadata.deletionTimestamp) return 'ignore';
  if (owner.metadata.namespace && owner.metadata.namespace !== obj.metadata.namespace) return 'ignore';
  return 'adopt';
}

/**
 * The strategic merge patch that adopts an object (ownerReferences merge by
 * uid, so other owners stay); the object's uid rides along as upstream's
 * precondition.
 */
export function adoptPatch(ref: OwnerReference, objUid: string | undefined): Record<string, unknown> {
  return { metadata: { ownerReferences: [ref], ...(objUid ? { uid: objUid } : {}) } };
}

/** The strategic merge patch that removes the owner's reference from an object. */
export function releasePatch(ownerUid: string, objUid: string | undefined): Record<string, unknown> {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], ...(objUid ? { uid: objUid } : {}) } };
}
