import { FatalError, main, oneLine } from '../src/fatal.js';

function capture() {
  const lines: string[] = [];
  const codes: number[] = [];
  return { io: { stderr: (l: string) => lines.push(l), exit: (c: number) => codes.push(c) }, lines, codes };
}

describe('main()', () => {
  it('prints a FatalError as one line with the program name and exits with its code', async () => {
    const c = capture();
    await main('overlayd', async () => {
      throw new FatalError('interface "eth9" does not exist\n(check --iface)', 3);
    }, c.io);
    expect(c.lines).toEqual(['overlayd: interface "eth9" does not exist; (check --iface)']);
    expect(c.codes).toEqual([3]);
  });

  it('turns any other error into one line and exit 1', async () => {
    const c = capture();
    await main('dnsd', async () => {
      throw new Error('boom\n  at somewhere');
    }, c.io);
    expect(c.lines).toEqual(['dnsd: boom; at somewhere']);
    expect(c.codes).toEqual([1]);
  });

  it('exits with the returned code, and not at all when nothing is returned', async () => {
    const c = capture();
    await main('x', async () => 4, c.io);
    await main('x', async () => undefined, c.io);
    expect(c.codes).toEqual([4]);
    expect(c.lines).toEqual([]);
  });

  it('never exits 0 for a failure', async () => {
    const c = capture();
    await main('x', async () => {
      throw new FatalError('bad', 0);
    }, c.io);
    expect(c.codes).toEqual([1]);
  });
});

describe('oneLine', () => {
  it('folds newlines and runs of spaces', () => {
    expect(oneLine('a\n b  \n\n c   d')).toBe('a; b; c d');
  });
});
