import { RoundRobinBalancer } from '../../src/userspace/roundrobin.js';

const none = { type: 'None' as const, ttlSeconds: 10800 };
const sticky = (ttlSeconds: number) => ({ type: 'ClientIP' as const, ttlSeconds });

/** A deterministic random source (LCG) so shuffles are reproducible. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('RoundRobinBalancer', () => {
  it('walks every endpoint once per round, in a fixed order', () => {
    const lb = new RoundRobinBalancer({ random: seeded(1) });
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80', '10.1.2.2:80'], none);
    const first = [0, 1, 2].map(() => lb.next('ns/a', '1.1.1.1'));
    const second = [0, 1, 2].map(() => lb.next('ns/a', '1.1.1.1'));
    expect(new Set(first)).toEqual(new Set(['10.1.1.2:80', '10.1.1.3:80', '10.1.2.2:80']));
    expect(second).toEqual(first);
  });

  it('returns undefined for a service without endpoints or unknown to it', () => {
    const lb = new RoundRobinBalancer();
    lb.update('ns/a', [], none);
    expect(lb.next('ns/a', '1.1.1.1')).toBeUndefined();
    expect(lb.next('ns/other', '1.1.1.1')).toBeUndefined();
  });

  it('reshuffles when the set changes and keeps the order when it does not', () => {
    const eps = Array.from({ length: 8 }, (_, i) => `10.1.1.${i + 2}:80`);
    const lb = new RoundRobinBalancer({ random: seeded(7) });
    lb.update('ns/a', eps, none);
    const order1 = [...lb.endpointsOf('ns/a')];
    lb.update('ns/a', [...eps].reverse(), none); // same set, other order
    expect(lb.endpointsOf('ns/a')).toEqual(order1);
    const orders = new Set<string>();
    for (let i = 0; i < 5; i++) {
      lb.update('ns/a', i % 2 ? eps : eps.slice(1), none);
      orders.add(lb.endpointsOf('ns/a').join());
    }
    // Distinct shuffles (not the input order each time).
    expect(orders.size).toBeGreaterThan(2);
  });

  it('never picks a removed endpoint', () => {
    const lb = new RoundRobinBalancer();
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80', '10.1.1.4:80'], none);
    lb.next('ns/a', 'c');
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.4:80'], none);
    for (let i = 0; i < 10; i++) expect(lb.next('ns/a', 'c')).not.toBe('10.1.1.3:80');
  });

  it('keeps a client on its endpoint with ClientIP affinity until the timeout passes', () => {
    let now = 1_000_000;
    const lb = new RoundRobinBalancer({ now: () => now });
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80', '10.1.1.4:80'], sticky(10));
    const a = lb.next('ns/a', '192.168.0.1');
    const b = lb.next('ns/a', '192.168.0.2');
    expect(b).not.toBe(a);
    for (let i = 0; i < 5; i++) {
      now += 9_000; // each use refreshes the timer
      expect(lb.next('ns/a', '192.168.0.1')).toBe(a);
    }
    now += 10_000;
    // Expired: the client takes the walk's next endpoint (the third), not its old one.
    const after = lb.next('ns/a', '192.168.0.1');
    expect(after).not.toBe(a);
    expect(after).toBe(lb.endpointsOf('ns/a')[2]);
  });

  it('reads a lazy client address only for ClientIP affinity', () => {
    const lb = new RoundRobinBalancer();
    let reads = 0;
    const ip = () => (reads++, '192.168.0.1');
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80'], none);
    const walked = [lb.next('ns/a', ip), lb.next('ns/a', ip)];
    expect(reads).toBe(0);
    expect(new Set(walked).size).toBe(2);
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80'], sticky(100));
    const first = lb.next('ns/a', ip);
    expect(lb.next('ns/a', ip)).toBe(first);
    expect(lb.next('ns/a', '192.168.0.1')).toBe(first); // the same client, given as a string
    expect(reads).toBe(2);
  });

  it('gives a new endpoint when affinity is reset after a failed connect', () => {
    const lb = new RoundRobinBalancer();
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80'], sticky(100));
    const a = lb.next('ns/a', 'c');
    const b = lb.next('ns/a', 'c', true);
    expect(b).not.toBe(a);
    expect(lb.next('ns/a', 'c')).toBe(b);
  });

  it('drops sticky clients whose endpoint disappeared, and reaps idle ones', () => {
    let now = 0;
    const lb = new RoundRobinBalancer({ now: () => now });
    lb.update('ns/a', ['10.1.1.2:80', '10.1.1.3:80'], sticky(5));
    const a = lb.next('ns/a', 'c1')!;
    const other = a === '10.1.1.2:80' ? '10.1.1.3:80' : '10.1.1.2:80';
    lb.update('ns/a', [other], sticky(5));
    expect(lb.next('ns/a', 'c1')).toBe(other);
    now += 5_000;
    expect(lb.reap()).toBe(1);
  });
});
