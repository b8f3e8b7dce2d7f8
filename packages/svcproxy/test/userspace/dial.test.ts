import { dialWithRetry, DialError, DIAL_TIMEOUTS_MS, isDescriptorExhaustion } from '../../src/userspace/dial.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('dialWithRetry', () => {
  it('moves on to the next endpoint with a growing timeout after a failure', async () => {
    const tried: [string, number][] = [];
    const order = ['a:1', 'b:1', 'c:1'];
    const r = await dialWithRetry(
      (attempt) => order[attempt],
      async (ep, t) => {
        tried.push([ep, t]);
        if (ep !== 'c:1') throw refused();
        return 'socket';
      },
      { service: 'ns/s' },
    );
    expect(r).toEqual({ value: 'socket', endpoint: 'c:1', attempts: 3 });
    expect(tried).toEqual([
      ['a:1', DIAL_TIMEOUTS_MS[0]],
      ['b:1', DIAL_TIMEOUTS_MS[1]],
      ['c:1', DIAL_TIMEOUTS_MS[2]],
    ]);
    expect(DIAL_TIMEOUTS_MS).toEqual([250, 500, 1000, 2000]);
  });

  it('gives up after the last attempt with every failure named', async () => {
    const failures: string[] = [];
    const err = await dialWithRetry(
      () => 'a:1',
      async () => {
        throw refused();
      },
      { service: 'ns/s', timeoutsMs: [1, 2], onFailure: (f) => failures.push(f.endpoint) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialError);
    expect((err as DialError).failures).toHaveLength(2);
    expect((err as Error).message).toMatch(/^ns\/s: no endpoint accepted after 2 attempt\(s\): a:1 \(connect ECONNREFUSED\)/);
    expect(failures).toEqual(['a:1', 'a:1']);
  });

  it('says "no endpoints" when there is nothing to try', async () => {
    await expect(dialWithRetry(() => undefined, async () => 1, { service: 'ns/s' })).rejects.toThrow('ns/s: no endpoints');
  });

  it('stops at once when the proxy runs out of file descriptors', async () => {
    let calls = 0;
    const err = await dialWithRetry(
      () => 'a:1',
      async () => {
        calls++;
        throw Object.assign(new Error('EMFILE'), { code: 'EMFILE' });
      },
      { service: 'ns/s', isFatal: isDescriptorExhaustion },
    ).catch((e: unknown) => e as DialError);
    expect(calls).toBe(1);
    expect(isDescriptorExhaustion((err as DialError).failures[0]!.error)).toBe(true);
  });
});
