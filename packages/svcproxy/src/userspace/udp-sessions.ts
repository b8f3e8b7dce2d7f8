/**
 * UDP has no connection, so the proxy invents one: each client `addr:port`
 * gets a session (its own backend socket) that lives while datagrams flow in
 * either direction and ends after `idleMs` of silence (kube-proxy's
 * --udp-timeout, 250 ms by default). Pure: the clock is injected; the caller
 * runs `expire()` from a timer and closes what it returns.
 */

interface Entry<T> {
  value: T;
  lastActiveMs: number;
}

export class SessionTable<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(idleMs > 0)) throw new Error(`UDP idle timeout must be positive, got ${idleMs} ms`);
  }

  static key(address: string, port: number): string {
    return `${address}:${port}`;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live session of a client (refreshing it), or undefined when none or idle too long. */
  get(key: string): T | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now - e.lastActiveMs >= this.idleMs) return undefined;
    e.lastActiveMs = now;
    return e.value;
  }

  /** Adds a session; the caller has checked `get` first. Returns an entry it replaced (expired), to close. */
  add(key: string, value: T): T | undefined {
    const old = this.entries.get(key);
    this.entries.set(key, { value, lastActiveMs: this.now() });
    return old?.value;
  }

  /** Marks activity (a reply from the backend). False if the session is gone. */
  touch(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return false;
    e.lastActiveMs = this.now();
    return true;
  }

  delete(key: string): T | undefined {
    const e = this.entries.get(key);
    this.entries.delete(key);
    return e?.value;
  }

  /** Removes `key` only if it still maps to `value` (a late error of a replaced session must not end its successor). */
  deleteIf(key: string, value: T): boolean {
    if (this.entries.get(key)?.value !== value) return false;
    this.entries.delete(key);
    return true;
  }

  /** Removes and returns every session idle for `idleMs` or longer. */
  expire(): { key: string; value: T }[] {
    const now = this.now();
    const out: { key: string; value: T }[] = [];
    for (const [key, e] of this.entries) {
      if (now - e.lastActiveMs >= this.idleMs) {
        this.entries.delete(key);
        out.push({ key, value: e.value });
      }
    }
    return out;
  }

  /** Removes and returns everything (service removed, shutdown). */
  drain(): T[] {
    const out = [...this.entries.values()].map((e) => e.value);
    this.entries.clear();
    return out;
  }

  values(): IterableIterator<T> {
    return [...this.entries.values()].map((e) => e.value)[Symbol.iterator]();
  }
}
