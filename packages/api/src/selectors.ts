/**
 * Label selectors (equality- and set-based, as apimachinery's labels package
 * accepts them) and field selectors: parse, match, print. Parsing is strict:
 * bad input throws a SelectorError whose one-line message names the bad part.
 */
import type { LabelSelectorSpec } from './types.js';
import { labelKeyError, labelValueError } from './names.js';

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

// ------------------------------------------------------------------ labels

export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** One value for =, ==, !=; a set for in/notin; empty for exists and !. */
  values: string[];
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v!);
    case 'exists':
      return has;
    case '!':
      return !has;
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case '=':
    case '==':
    case '!=':
      return `${r.key}${r.operator}${r.values[0] ?? ''}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${[...r.values].sort().join(',')})`;
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
  }
}

export class LabelSelector {
  /** A selector that matches nothing (a null metav1.LabelSelector). */
  static nothing(): LabelSelector {
    return new LabelSelector([], true);
  }

  /** A selector that matches everything. */
  static everything(): LabelSelector {
    return new LabelSelector([]);
  }

  constructor(
    readonly requirements: readonly LabelRequirement[],
    private readonly matchesNothing = false,
  ) {}

  matches(labels?: Record<string, string>): boolean {
    if (this.matchesNothing) return false;
    const l = labels ?? {};
    return this.requirements.every((r) => requirementMatches(r, l));
  }

  /** True when the selector matches every object. */
  isEmpty(): boolean {
    return !this.matchesNothing && this.requirements.length === 0;
  }

  /** Canonical text form: requirements sorted by key, values sorted, `=` for equality. */
  toString(): string {
    return [...this.requirements]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((r) => requirementString(r.operator === '==' ? { ...r, operator: '=' } : r))
      .join(',');
  }
}

type Tok =
  | { t: 'id'; v: string; pos: number }
  | { t: 'op'; v: '=' | '==' | '!=' | '!' | '(' | ')' | ','; pos: number }
  | { t: 'end'; pos: number };

const SPECIAL = new Set(['=', '!', '(', ')', ',', ' ', '\t', '\n', '\r', '<', '>']);

function lex(input: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '=' && input[i + 1] === '=') {
      toks.push({ t: 'op', v: '==', pos: i });
      i += 2;
    } else if (c === '!' && input[i + 1] === '=') {
      toks.push({ t: 'op', v: '!=', pos: i });
      i += 2;
    } else if (c === '=' || c === '!' || c === '(' || c === ')' || c === ',') {
      toks.push({ t: 'op', v: c, pos: i });
      i++;
    } else if (c === '<' || c === '>') {
      throw new SelectorError(`unsupported operator "${c}" at position ${i} in label selector "${input}"`);
    } else {
      const start = i;
      while (i < input.length && !SPECIAL.has(input[i]!)) i++;
      toks.push({ t: 'id', v: input.slice(start, i), pos: start });
    }
  }
  toks.push({ t: 'end', pos: input.length });
  return toks;
}

function describe(tok: Tok): string {
  return tok.t === 'end' ? 'end of input' : `"${tok.v}" at position ${tok.pos}`;
}

class LabelParser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly input: string,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private take(): Tok {
    return this.toks[this.i++]!;
  }
  private fail(what: string, tok: Tok): never {
    throw new SelectorError(`invalid label selector "${this.input}": ${what}, found ${describe(tok)}`);
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    if (this.peek().t === 'end') return reqs;
    for (;;) {
      reqs.push(this.requirement());
      const t = this.take();
      if (t.t === 'end') return reqs;
      if (!(t.t === 'op' && t.v === ',')) this.fail('expected "," between requirements', t);
    }
  }

  private key(): string {
    const t = this.take();
    if (t.t !== 'id' || t.v === 'in' || t.v === 'notin') this.fail('expected a label key', t);
    const err = labelKeyError(t.v);
    if (err) throw new SelectorError(`invalid label selector "${this.input}": key "${t.v}": ${err}`);
    return t.v;
  }

  private value(key: string): string {
    const t = this.peek();
    // An empty value is allowed after =, ==, != ("a=" selects a="").
    if (t.t !== 'id') return '';
    this.i++;
    const err = labelValueError(t.v);
    if (err) throw new SelectorError(`invalid label selector "${this.input}": value "${t.v}" for key "${key}": ${err}`);
    return t.v;
  }

  private requirement(): LabelRequirement {
    const first = this.peek();
    if (first.t === 'op' && first.v === '!') {
      this.i++;
      return { key: this.key(), operator: '!', values: [] };
    }
    const key = this.key();
    const t = this.peek();
    if (t.t === 'end' || (t.t === 'op' && t.v === ',')) return { key, operator: 'exists', values: [] };
    if (t.t === 'op' && (t.v === '=' || t.v === '==' || t.v === '!=')) {
      this.i++;
      return { key, operator: t.v, values: [this.value(key)] };
    }
    if (t.t === 'id' && (t.v === 'in' || t.v === 'notin')) {
      this.i++;
      return { key, operator: t.v, values: this.set(key) };
    }
    return this.fail(`expected an operator (=, ==, !=, in, notin) after key "${key}"`, t);
  }

  private set(key: string): string[] {
    const open = this.take();
    if (!(open.t === 'op' && open.v === '(')) this.fail(`expected "(" after in/notin for key "${key}"`, open);
    const values: string[] = [];
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && t.v === ')') {
        this.i++;
        break;
      }
      values.push(this.value(key));
      const sep = this.take();
      if (sep.t === 'op' && sep.v === ')') break;
      if (!(sep.t === 'op' && sep.v === ',')) this.fail(`expected "," or ")" in the value set of "${key}"`, sep);
    }
    if (values.length === 0) throw new SelectorError(`invalid label selector "${this.input}": empty value set for key "${key}"`);
    return values;
  }
}

/** Parses a label selector string; "" selects everything. */
export function parseLabelSelector(s: string): LabelSelector {
  return new LabelSelector(new LabelParser(lex(s), s).parse());
}

/** Equality selector from a label map (a Service's or RC's selector). */
export function labelSelectorFromSet(set: Record<string, string> | undefined): LabelSelector {
  return new LabelSelector(Object.entries(set ?? {}).map(([key, v]) => ({ key, operator: '=' as const, values: [v] })));
}

/**
 * Converts a metav1.LabelSelector. As in Kubernetes, a missing (null) selector
 * matches nothing and an empty one matches everything.
 */
export function labelSelectorFromObject(spec: LabelSelectorSpec | null | undefined): LabelSelector {
  if (spec === null || spec === undefined) return LabelSelector.nothing();
  const reqs: LabelRequirement[] = Object.entries(spec.matchLabels ?? {}).map(([key, v]) => ({ key, operator: '=', values: [v] }));
  for (const [i, e] of (spec.matchExpressions ?? []).entries()) {
    const where = `matchExpressions[${i}] (key "${e.key}")`;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) throw new SelectorError(`${where}: operator ${e.operator} needs at least one value`);
        reqs.push({ key: e.key, operator: e.operator === 'In' ? 'in' : 'notin', values: [...values] });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length) throw new SelectorError(`${where}: operator ${e.operator} takes no values`);
        reqs.push({ key: e.key, operator: e.operator === 'Exists' ? 'exists' : '!', values: [] });
        break;
      default:
        throw new SelectorError(`${where}: unknown operator "${e.operator}" (want In, NotIn, Exists, DoesNotExist)`);
    }
  }
  return new LabelSelector(reqs);
}

// ------------------------------------------------------------------ fields

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

function escapeFieldValue(v: string): string {
  return v.replace(/[\\,=]/g, (c) => `\\${c}`);
}

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  /** `fields` maps field labels (e.g. `spec.nodeName`) to values; an absent field reads as "". */
  matches(fields: Record<string, string>): boolean {
    return this.requirements.every((r) => {
      const v = fields[r.field] ?? '';
      return r.op === '=' ? v === r.value : v !== r.value;
    });
  }

  isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  /** Value required by an `f=v` term, if any (lets a server narrow its scan, e.g. metadata.name). */
  exactValue(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.op === '=')?.value;
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.op}${escapeFieldValue(r.value)}`).join(',');
  }
}

/** Splits on unescaped commas, keeping escapes for the term parser. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescape(v: string, input: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\') {
      const n = v[i + 1];
      if (n === undefined || !'\\,='.includes(n)) throw new SelectorError(`invalid field selector "${input}": bad escape in "${v}"`);
      out += n;
      i++;
    } else if (c === '=' || c === ',') {
      throw new SelectorError(`invalid field selector "${input}": unescaped "${c}" in value "${v}"`);
    } else out += c;
  }
  return out;
}

/** Parses `f=v`, `f==v`, `f!=v` terms joined by commas; "" selects everything. */
export function parseFieldSelector(s: string): FieldSelector {
  if (s.trim() === '') return new FieldSelector([]);
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(s)) {
    const m = /^([^=!\\]*?)\s*(!=|==|=)\s*(.*)$/s.exec(term.trim());
    if (!m) throw new SelectorError(`invalid field selector "${s}": term "${term}" is not field=value, field==value or field!=value`);
    const field = m[1]!.trim();
    if (field === '' || /\s/.test(field)) throw new SelectorError(`invalid field selector "${s}": missing or malformed field name in "${term}"`);
    reqs.push({ field, op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]!, s) });
  }
  return new FieldSelector(reqs);
}

/** Field selector from a field → value map (all equality terms). */
export function fieldSelectorFromSet(set: Record<string, string>): FieldSelector {
  return new FieldSelector(Object.entries(set).map(([field, value]) => ({ field, op: '=' as const, value })));
}
