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

const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * Why a string cannot be a key of a ConfigMap's or Secret's data (apimachinery's
 * `IsConfigMapKey`): it becomes a file name in a volume and an env var source,
 * so only `[-._a-zA-Z0-9]`, at most 253 characters, and never `.`, `..` or a
 * `..` prefix. Empty when fine.
 */
export function configMapKeyErrors(s: string): string[] {
  const out: string[] = [];
  if (s.length > DNS1123_SUBDOMAIN_MAX) out.push(`must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`);
  if (!CONFIG_MAP_KEY.test(s))
    out.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  if (s === '.') out.push("must not be '.'");
  else if (s === '..') out.push("must not be '..'");
  else if (s.startsWith('..')) out.push("must not start with '..'");
  return out;
}

/**
 * Where standard base64 (Go's `base64.StdEncoding`, as `[]byte` fields are
 * decoded from JSON) fails: the offset of the first illegal byte, or
 * undefined when `s` decodes. CR and LF are skipped, as Go skips them.
 */
export function base64Error(s: string): string | undefined {
  let n = 0;
  let pad = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) continue;
    const alpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;
    if (c === 61) {
      // '=' only at the end of a quantum, at most two.
      if (n % 4 < 2 || pad >= 2) return `illegal base64 data at input byte ${i}`;
      pad++;
    } else if (!alpha || pad > 0) return `illegal base64 data at input byte ${i}`;
    n++;
  }
  if (n % 4 !== 0) return `illegal base64 data at input byte ${s.length}`;
  return undefined;
}

/** The decoded length of valid standard base64. */
export function base64DecodedLength(s: string): number {
  const clean = s.replace(/[\r\n]/g, '');
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return (clean.length / 4) * 3 - pad;
}
