import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { waitFor } from '@pilot/common';

export interface DaemonSpec {
  /** Short name for logs, unique per host. */
  name: string;
  /** Network namespace the daemon runs in (`nsenter --net`), or undefined for the caller's. */
  netns: string | undefined;
  argv: readonly string[];
  env?: Record<string, string>;
  logPath: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A long-running child process: each component `pilot up` supervises, and
 * every daemon of the netns harness. With `netns` it runs in that network
 * namespace (`nsenter` execs the program after entering it, so the PID is
 * the daemon's own). Output (stdout and stderr) goes to one log file per
 * daemon, kept across restarts so a failure can be read as a whole story.
 */
export class Daemon {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  private exitInfo: Exit | undefined;
  starts = 0;

  constructor(
    readonly spec: DaemonSpec,
    private readonly onPid: (pid: number) => void,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** How the last run ended, once it has. */
  get exit(): Exit | undefined {
    return this.exitInfo;
  }

  start(): this {
    if (this.running) throw new Error(`daemon ${this.name} is already running (pid ${this.pid})`);
    const fd = openSync(this.spec.logPath, 'a');
    this.starts++;
    writeSync(fd, `--- start #${this.starts} ${new Date().toISOString()}: ${this.spec.argv.join(' ')}\n`);
    const argv = this.spec.netns ? ['nsenter', `--net=/run/netns/${this.spec.netns}`, '--', ...this.spec.argv] : [...this.spec.argv];
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...this.spec.env },
    });
    closeSync(fd);
    this.child = child;
    this.exitInfo = undefined;
    this.exitPromise = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.once('error', () => {
        this.exitInfo = { code: -1, signal: null };
        resolve(this.exitInfo);
      });
    });
    if (child.pid) this.onPid(child.pid);
    return this;
  }

  /** Resolves when the current run ends, however long that takes (a supervisor's wait). */
  whenExited(): Promise<Exit> {
    return this.exitPromise;
  }

  /** Resolves when the current run ends. */
  waitExit(timeoutMs = 30_000): Promise<Exit> {
    return Promise.race([
      this.exitPromise,
      new Promise<Exit>((_, reject) =>
        setTimeout(() => reject(new Error(`daemon ${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs = 10_000): Promise<Exit> {
    if (!this.running) return this.exitInfo ?? { code: null, signal: null };
    this.child!.kill('SIGTERM');
    try {
      return await this.waitExit(graceMs);
    } catch {
      this.child!.kill('SIGKILL');
      return this.waitExit(5_000);
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (!this.running) return this.exitInfo ?? { code: null, signal: null };
    this.child!.kill(signal);
    return this.waitExit(10_000);
  }

  /** Stops (if running) and starts again with the same arguments. */
  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  log(): string {
    try {
      return readFileSync(this.spec.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** Waits until the log contains `text` (or matches a pattern). */
  async waitForLog(pattern: string | RegExp, timeoutMs = 30_000): Promise<void> {
    const test = (s: string) => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
    await waitFor(() => test(this.log()) || (!this.running && test(this.log())), {
      timeoutMs,
      what: `${this.name} to log ${String(pattern)}`,
    });
  }
}
