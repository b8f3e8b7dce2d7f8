/** The timer functions a Debouncer uses; tests pass a fake clock. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Coalesces a burst of triggers into one call `delayMs` after the first of
 * them. The window is not extended by later triggers, so a steady stream of
 * events still gets a call every `delayMs` instead of never.
 */
export class Debouncer {
  private handle: unknown;
  private armed = false;

  constructor(
    private readonly delayMs: number,
    private readonly fn: () => void,
    private readonly timers: Timers = realTimers,
  ) {}

  trigger(): void {
    if (this.armed) return;
    this.armed = true;
    this.handle = this.timers.setTimeout(() => {
      this.armed = false;
      this.handle = undefined;
      this.fn();
    }, this.delayMs);
  }

  /** True while a call is due. */
  get pending(): boolean {
    return this.armed;
  }

  cancel(): void {
    if (!this.armed) return;
    this.timers.clearTimeout(this.handle);
    this.armed = false;
    this.handle = undefined;
  }
}
