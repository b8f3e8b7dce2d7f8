import {
  labelSelectorFromObject,
  labelSelectorFromSet,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  fieldSelectorFromSet,
} from '../src/selectors.js';

describe('label selectors', () => {
  const web = { app: 'web', tier: 'frontend', env: 'prod' };
  const db = { app: 'db', env: 'dev' };

  it.each([
    ['app=web', true, false],
    ['app==web', true, false],
    ['app!=web', false, true],
    ['app in (web,db)', true, true],
    ['app notin (web)', false, true],
    ['tier', true, false],
    ['!tier', false, true],
    ['app=web,env=prod', true, false],
    ['env in (prod, dev),!tier', false, true],
    ['', true, true],
    ['missing!=x', true, true],
    ['missing notin (x)', true, true],
    ['missing in (x)', false, false],
  ])('"%s" matches web=%s db=%s', (sel, w, d) => {
    const s = parseLabelSelector(sel);
    expect(s.matches(web)).toBe(w);
    expect(s.matches(db)).toBe(d);
  });

  it('accepts prefixed keys and empty values', () => {
    const s = parseLabelSelector('example.com/role=, kubernetes.io/os in (linux)');
    expect(s.matches({ 'example.com/role': '', 'kubernetes.io/os': 'linux' })).toBe(true);
    expect(s.matches({ 'example.com/role': 'x', 'kubernetes.io/os': 'linux' })).toBe(false);
  });

  it('prints a canonical form that parses back to the same selector', () => {
    const s = parseLabelSelector(' tier , app == web,env notin (qa,dev), !legacy ');
    expect(s.toString()).toBe('app=web,env notin (dev,qa),!legacy,tier');
    expect(parseLabelSelector(s.toString()).toString()).toBe(s.toString());
    expect(parseLabelSelector('').isEmpty()).toBe(true);
  });

  it.each([
    ['app=web,', /expected a label key, found end of input/],
    ['app in web', /expected "\(" after in\/notin for key "app"/],
    ['app in (a b)', /expected "," or "\)" in the value set of "app"/],
    ['app in ()', /empty value set for key "app"/],
    ['app>1', /unsupported operator ">"/],
    ['-bad=x', /key "-bad"/],
    ['app=-x-', /value "-x-" for key "app"/],
    ['a b', /expected an operator \(=, ==, !=, in, notin\) after key "a", found "b" at position 2/],
    ['a=b c', /expected "," between requirements, found "c"/],
    ['=x', /expected a label key, found "=" at position 0/],
  ])('rejects "%s" with a one-line error naming the bad part', (sel, msg) => {
    let err: unknown;
    try {
      parseLabelSelector(sel);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('builds from a label set (RC/Service selectors)', () => {
    const s = labelSelectorFromSet({ app: 'web', tier: 'fe' });
    expect(s.matches({ app: 'web', tier: 'fe', x: 'y' })).toBe(true);
    expect(s.matches({ app: 'web' })).toBe(false);
    expect(s.toString()).toBe('app=web,tier=fe');
    expect(labelSelectorFromSet({}).matches({ any: 'thing' })).toBe(true);
  });

  it('converts metav1.LabelSelector: null matches nothing, empty matches everything', () => {
    const s = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'stage'] },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(s.matches({ app: 'web', env: 'stage' })).toBe(true);
    expect(s.matches({ app: 'web', env: 'stage', legacy: '1' })).toBe(false);
    expect(s.toString()).toBe('app=web,env in (prod,stage),!legacy');
    expect(labelSelectorFromObject(undefined).matches({})).toBe(false);
    expect(labelSelectorFromObject({}).matches({ a: 'b' })).toBe(true);
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Has' }] })).toThrow(
      /matchExpressions\[0\] \(key "a"\): unknown operator "Has"/,
    );
    expect(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toThrow(/needs at least one value/);
  });
});

describe('field selectors', () => {
  const fields = { 'metadata.name': 'web-1', 'spec.nodeName': 'n1', 'status.phase': 'Running' };

  it('parses =, == and != terms joined by commas and matches them', () => {
    const s = parseFieldSelector('spec.nodeName=n1,status.phase!=Failed,metadata.name==web-1');
    expect(s.requirements).toEqual([
      { field: 'spec.nodeName', op: '=', value: 'n1' },
      { field: 'status.phase', op: '!=', value: 'Failed' },
      { field: 'metadata.name', op: '=', value: 'web-1' },
    ]);
    expect(s.matches(fields)).toBe(true);
    expect(parseFieldSelector('spec.nodeName=n2').matches(fields)).toBe(false);
    expect(parseFieldSelector('').matches(fields)).toBe(true);
  });

  it('treats an absent field as empty (unscheduled pods have spec.nodeName=)', () => {
    expect(parseFieldSelector('spec.nodeName=').matches({ 'metadata.name': 'x' })).toBe(true);
    expect(parseFieldSelector('spec.nodeName!=').matches({ 'metadata.name': 'x' })).toBe(false);
  });

  it('handles escaped commas and equals signs and prints them escaped', () => {
    const s = parseFieldSelector('metadata.name=a\\,b\\=c,spec.nodeName=n1');
    expect(s.requirements[0]).toEqual({ field: 'metadata.name', op: '=', value: 'a,b=c' });
    expect(s.toString()).toBe('metadata.name=a\\,b\\=c,spec.nodeName=n1');
    expect(fieldSelectorFromSet({ 'metadata.name': 'x' }).toString()).toBe('metadata.name=x');
    expect(s.exactValue('spec.nodeName')).toBe('n1');
  });

  it.each([
    ['spec.nodeName', /term "spec.nodeName" is not field=value/],
    ['=x', /missing or malformed field name in "=x"/],
    ['a=b=c', /unescaped "=" in value "b=c"/],
    ['a=b\\x', /bad escape/],
  ])('rejects "%s"', (sel, msg) => {
    expect(() => parseFieldSelector(sel)).toThrow(SelectorError);
    expect(() => parseFieldSelector(sel)).toThrow(msg);
  });
});
