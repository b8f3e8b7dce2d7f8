/**
 * A cap on the TCP connections one client address holds through the proxy at
 * once, across every service port. The userspace proxy relays arbitrary TCP
 * (protocols where the server speaks first included), so it cannot give a
 * connection a read deadline the way dnsd does; instead no single source can
 * take the descriptors every other client needs. kube-proxy's userspace mode
 * had no such cap; 0 turns it off.
 */
export class SourceConnectionLimit {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 0) throw new Error(`per-source connection limit must be a whole number ≥ 0, got ${max}`);
  }

  get enabled(): boolean {
    return this.max > 0;
  }

  /** Takes one slot for `source`; false when it already holds `max`. */
  tryAcquire(source: string): boolean {
    if (!this.enabled) return true;
    const n = this.held.get(source) ?? 0;
    if (n >= this.max) return false;
    this.held.set(source, n + 1);
    return true;
  }

  /** Gives back a slot taken by tryAcquire (extra releases are ignored). */
  release(source: string): void {
    const n = this.held.get(source);
    if (n === undefined) return;
    if (n <= 1) this.held.delete(source);
    else this.held.set(source, n - 1);
  }

  /** Connections `source` holds now. */
  count(source: string): number {
    return this.held.get(source) ?? 0;
  }

  /** Sources holding at least one connection. */
  get sources(): number {
    return this.held.size;
  }
}
