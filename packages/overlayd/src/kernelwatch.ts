import { fork, type ChildProcess } from 'node:child_process';
import { Backoff } from '@pilot/common';
import type { ReaderMessage } from './eventdecode.js';
import type { KernelEvent } from './kernelevents.js';

/**
 * The kernel's change notifications, read by a small child process
 * (kernelwatch-reader.ts) on an rtnetlink socket joined to the link,
 * neighbour, IPv4 address and IPv4 route groups. A child, because the
 * `netlink` package aborts the whole process (a C++ exception out of its poll
 * callback) when a multicast socket overflows (ENOBUFS); so an overflow
 * ends the reader, not overlayd, which reconciles everything and starts a
 * new reader. Decoding is eventdecode.ts's job, what events mean
 * kernelevents.ts's.
 */

const READER = new URL('./kernelwatch-reader.js', import.meta.url);
/** How long start() waits for the reader to listen before going on without it (the periodic reconcile covers). */
const READY_TIMEOUT_MS = 5_000;
/** A reader that lived this long is a fresh start when it ends: its successor starts after the shortest delay. */
const STABLE_MS = 60_000;

export interface KernelWatchHandlers {
  onEvent(e: KernelEvent): void;
  /**
   * Events may have been lost: the socket overflowed or failed, or the
   * reader could not be started. Called with one line for the log; the
   * caller reconciles everything instead. The watcher restarts the reader.
   */
  onLost(why: string): void;
  /** A restarted reader listens again: what changed while none listened is unknown, so everything is checked. */
  onResumed(): void;
}

export class KernelWatcher {
  private child: ChildProcess | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private closed = false;
  /** A reader has listened before: the next 'ready' is a resumption. */
  private listened = false;

  constructor(private readonly handlers: KernelWatchHandlers) {}

  /** Starts the reader; resolves once it listens, or once its failure was reported. Never rejects. */
  start(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.child) return resolve();
      const ready = setTimeout(resolve, READY_TIMEOUT_MS);
      ready.unref();
      const done = () => {
        clearTimeout(ready);
        resolve();
      };
      let child: ChildProcess;
      try {
        // stderr is dropped: a dying reader prints the library's C++ abort, which the one log line below replaces.
        child = fork(READER, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'json', execArgv: ['--max-old-space-size=32'] });
      } catch (err) {
        this.readerGone(`could not start the netlink event reader (${(err as Error).message})`);
        return done();
      }
      this.child = child;
      const startedAt = Date.now();
      let ended = false;
      const end = (why: string) => {
        if (ended) return;
        ended = true;
        if (this.child === child) this.child = undefined;
        // A reader that keeps dying (an endless storm) is restarted ever more slowly, one log line each time.
        if (Date.now() - startedAt > STABLE_MS) this.backoff.reset();
        done();
        if (!this.closed) this.readerGone(why);
      };
      child.on('message', (m: ReaderMessage) => {
        if (m.type === 'ready') {
          if (this.listened) this.handlers.onResumed();
          this.listened = true;
          done();
        } else if (m.type === 'events') {
          for (const e of m.events) this.handlers.onEvent(e);
        } else if (m.type === 'lost') {
          this.handlers.onLost(m.why);
        }
      });
      child.on('error', (err) => end(`netlink event reader failed (${err.message})`));
      child.on('exit', (code, signal) =>
        end(
          signal === 'SIGABRT'
            ? 'netlink event socket overflowed (ENOBUFS) or failed: its reader aborted'
            : `netlink event reader exited (${signal ?? `status ${code}`})`,
        ),
      );
    });
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }

  private readerGone(why: string): void {
    this.handlers.onLost(why);
    const delay = this.backoff.next();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.start();
    }, delay);
    this.restartTimer.unref();
  }
}
