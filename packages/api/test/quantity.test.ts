import { milliValue, parseQuantity } from '../src/quantity.js';

describe('resource quantities', () => {
  it.each([
    ['100m', 0.1],
    ['1', 1],
    ['1.5', 1.5],
    ['128Mi', 134217728],
    ['1Gi', 1073741824],
    ['1G', 1e9],
    ['2k', 2000],
    ['2e3', 2000],
    ['.5', 0.5],
  ])('%s = %d', (q, v) => {
    expect(parseQuantity(q)).toBeCloseTo(v, 9);
  });

  it('rounds CPU up to whole millicores, as MilliValue does', () => {
    expect(milliValue('100m')).toBe(100);
    expect(milliValue('0.1')).toBe(100);
    expect(milliValue('1.0001')).toBe(1001);
    expect(milliValue(2)).toBe(2000);
  });

  it.each(['', 'abc', '1Q', '1 Mi', '--1'])('refuses %j with Kubernetes’ message', (q) => {
    expect(() => parseQuantity(q)).toThrow('quantities must match the regular expression');
  });
});
