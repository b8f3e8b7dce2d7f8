import { run, CommandError } from '../src/exec.js';

describe('run', () => {
  it('passes arguments as an array, without a shell', async () => {
    const r = await run(['printf', '%s|', 'a b', '$HOME', ';echo no']);
    expect(r.stdout).toBe('a b|$HOME|;echo no|');
    expect(r.exitCode).toBe(0);
  });

  it('feeds stdin', async () => {
    expect((await run(['cat'], { input: 'hello\n' })).stdout).toBe('hello\n');
  });

  it('puts the command, exit code and stderr in the error', async () => {
    const err = await run(['ls', '/definitely/not/here']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as CommandError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/^ls \/definitely\/not\/here: exited 2: .*No such file or directory/);
  });

  it('returns the exit code instead of throwing when check is off', async () => {
    expect((await run(['false'], { check: false })).exitCode).toBe(1);
  });

  it('fails clearly for a missing program and for a timeout', async () => {
    await expect(run(['no-such-program-pilot'])).rejects.toThrow(/no-such-program-pilot/);
    await expect(run(['sleep', '5'], { timeoutMs: 50 })).rejects.toThrow(/timed out after 50 ms/);
  });
});
