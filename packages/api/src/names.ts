/**
 * Name and value rules Kubernetes applies to API objects (apimachinery
 * util/validation). Each check returns undefined when the value is fine, or a
 * short reason that callers put into a FieldError or SelectorError.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;

export function dns1123LabelError(s: string): string | undefined {
  if (s.length > DNS1123_LABEL_MAX) return `must be no more than ${DNS1123_LABEL_MAX} characters`;
  if (!DNS1123_LABEL.test(s))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
  return undefined;
}

export function dns1123SubdomainError(s: string): string | undefined {
  if (s.length > DNS1123_SUBDOMAIN_MAX) return `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`;
  if (!DNS1123_SUBDOMAIN.test(s))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** Service names are DNS-1035 labels (they become DNS names and env var prefixes). */
export function dns1035LabelError(s: string): string | undefined {
  if (s.length > DNS1123_LABEL_MAX) return `must be no more than ${DNS1123_LABEL_MAX} characters`;
  if (!DNS1035_LABEL.test(s))
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
  return undefined;
}

/** `[prefix/]name` as used by label and annotation keys. */
export function qualifiedNameError(s: string): string | undefined {
  const parts = s.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix === '') return 'prefix part must be non-empty';
    const perr = dns1123SubdomainError(prefix);
    if (perr) return `prefix part ${perr}`;
  } else {
    return "a qualified name must consist of an optional DNS subdomain prefix and '/' and a name";
  }
  if (name === '') return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

export function labelKeyError(s: string): string | undefined {
  return qualifiedNameError(s);
}

export function labelValueError(s: string): string | undefined {
  if (s.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(s))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** IANA service names: what a named port (`targetPort: http`) may be. */
export function ianaSvcNameError(s: string): string | undefined {
  if (s.length > 15) return 'must be no more than 15 characters';
  if (!IANA_SVC_NAME.test(s)) return "must contain only lower case alphanumeric characters or '-', and start and end with an alphanumeric character";
  if (s.includes('--')) return "must not contain consecutive hyphens";
  if (!/[a-z]/.test(s)) return 'must contain at least one letter';
  return undefined;
}

export function isPortNumber(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

/**
 * Why a name cannot be one segment of a REST path (apimachinery's
 * `IsValidPathSegmentName`): `.` and `..` would name the parent once a path is
 * normalised, and `/` or `%` would split or re-encode it. Empty when fine.
 */
export function pathSegmentNameErrors(s: string): string[] {
  if (s === '.' || s === '..') return [`may not be '${s}'`];
  const out: string[] = [];
  for (const c of ['/', '%']) if (s.includes(c)) out.push(`may not contain '${c}'`);
  return out;
}
