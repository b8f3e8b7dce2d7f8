import { Socket } from 'node:net';

/**
 * Moving one direction of a proxied TCP connection with reusable read
 * buffers (Node's `onread` socket option) instead of `pipe()`.
 *
 * Why (measured with bench/svcproxy-userspace and a CPU profile): with
 * `pipe()` every read is a fresh 64 KiB allocation, and each 64 KiB chunk
 * costs one read syscall, one JS callback and one write syscall; about 15% of
 * the proxy's CPU went to garbage collection. Reading into a buffer we own
 * costs no allocation, and a 1 MiB buffer takes whatever the kernel has queued
 * in one syscall: on loopback the proxy's CPU per gigabyte roughly halved and
 * throughput went from ~0.6× to above haproxy's (numbers in the README).
 *
 * Memory: a direction only holds a large buffer while it streams (its last
 * read filled the buffer it had). Quiet directions read into one small buffer
 * shared by every connection; what lands there is copied out before it is
 * written, so the shared buffer is never referenced by a pending write. Large
 * buffers are lent from a pool with a byte budget; past it, directions keep
 * streaming through the small buffer (slower, never stuck).
 *
 * Backpressure: a chunk is written as soon as it is read; if the write does
 * not complete at once, reading stops (the kernel holds what comes next, the
 * peer's window closes) until it has. A large buffer is therefore referenced
 * by at most one pending write and never reused before that write is done.
 */

export const SMALL_READ_BYTES = 16 * 1024;
export const LARGE_READ_BYTES = 1024 * 1024;
/** Large buffers lent out at once across all connections (64 streaming directions). */
export const LARGE_READ_BUDGET_BYTES = 64 * 1024 * 1024;

export class ReadBufferPool {
  /** Shared by every direction without a large buffer. */
  readonly small: Buffer;
  private readonly free: Buffer[] = [];
  private lent = 0;
  private readonly maxLent: number;

  constructor(
    readonly smallBytes = SMALL_READ_BYTES,
    readonly largeBytes = LARGE_READ_BYTES,
    budgetBytes = LARGE_READ_BUDGET_BYTES,
    private readonly keepFree = 4,
  ) {
    this.small = Buffer.allocUnsafe(smallBytes);
    this.maxLent = Math.max(0, Math.floor(budgetBytes / largeBytes));
  }

  /** A large buffer, or undefined when the budget is spent. */
  acquire(): Buffer | undefined {
    if (this.lent >= this.maxLent) return undefined;
    this.lent++;
    return this.free.pop() ?? Buffer.allocUnsafe(this.largeBytes);
  }

  /** Gives a large buffer back; `reusable` false when a write may still read it. */
  release(buf: Buffer, reusable: boolean): void {
    this.lent--;
    if (reusable && this.free.length < this.keepFree) this.free.push(buf);
  }

  get lentCount(): number {
    return this.lent;
  }
}

/** The process-wide pool the proxier's connections share. */
export const sharedReadBuffers = new ReadBufferPool();

/**
 * One direction: reads of `src` (created with `onread: direction.onread`) are
 * written to `dst`. `src`/`dst` are bound with `attach` once both exist.
 */
export class Direction {
  private src: Socket | undefined;
  private dst: Socket | undefined;
  private large: Buffer | undefined;
  /** Sequence number of the write reading is paused for (0: none). */
  private waitingFor = 0;
  private seq = 0;
  private done = false;

  constructor(private readonly pool: ReadBufferPool = sharedReadBuffers) {}

  /** The `onread` option for the source socket. */
  readonly onread = {
    buffer: (): Buffer => this.large ?? this.pool.small,
    callback: (n: number, buf: Buffer): boolean => this.read(n, buf),
  };

  attach(src: Socket, dst: Socket): void {
    this.src = src;
    this.dst = dst;
    // Either side closing ends the direction; a large buffer still held by a
    // pending write is not reused (the write may still read it).
    const finish = () => this.finish();
    src.once('close', finish);
    dst.once('close', finish);
  }

  private read(n: number, buf: Buffer): boolean {
    const dst = this.dst;
    if (!dst || this.done) return false; // cannot happen: reading starts after attach
    let chunk: Buffer;
    const isLarge = buf !== this.pool.small;
    if (isLarge) {
      chunk = buf.subarray(0, n);
    } else {
      chunk = Buffer.allocUnsafe(n);
      buf.copy(chunk, 0, 0, n);
      // A full small read: more is queued, read it in large pieces.
      if (n === buf.length) this.large = this.pool.acquire();
    }
    const id = ++this.seq;
    dst.write(chunk, (err) => this.written(id, err));
    if (dst.writableLength === 0) {
      // Written at once: the buffer is free again.
      if (isLarge && n <= this.pool.smallBytes) this.dropLarge(true); // the stream went quiet
      return true;
    }
    this.waitingFor = id;
    return false; // stop reading until the write is done
  }

  private written(id: number, err: Error | null | undefined): void {
    if (id !== this.waitingFor) return;
    this.waitingFor = 0;
    if (err || this.done) return; // the close wiring resets the other side
    this.src?.resume();
  }

  private dropLarge(reusable: boolean): void {
    if (!this.large) return;
    this.pool.release(this.large, reusable);
    this.large = undefined;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.dropLarge(this.waitingFor === 0);
  }
}

/**
 * Node's private Socket fields behind the `onread` option, found once on a
 * probe socket by their symbol descriptions (net.Socket has no public way to
 * give an existing socket a user buffer). Undefined when this Node's Socket
 * does not keep them that way.
 */
const onreadFields = ((): { buffer: symbol; callback: symbol; generator: symbol } | undefined => {
  const buffer = (): Buffer => Buffer.alloc(0);
  const callback = (): boolean => true;
  const probe = new Socket({ onread: { buffer, callback } } as ConstructorParameters<typeof Socket>[0]);
  const own = Object.getOwnPropertySymbols(probe);
  const find = (description: string, value: unknown) => own.find((k) => k.description === description && (probe as unknown as Record<symbol, unknown>)[k] === value);
  const fields = { buffer: find('kBuffer', true), callback: find('kBufferCb', callback), generator: find('kBufferGen', buffer) };
  probe.destroy();
  return fields.buffer && fields.callback && fields.generator ? (fields as { buffer: symbol; callback: symbol; generator: symbol }) : undefined;
})();

interface ReadHandle {
  reading?: boolean;
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * Makes an accepted socket (accepted paused, nothing read yet) read through
 * `onread` from now on, in place: net.Server has no option to give accepted
 * sockets a user buffer, so the fields the `onread` option would have set are
 * set here and the handle is told about the buffer. The socket stays paused
 * (resume it once its reads have somewhere to go). Returns false (the caller
 * keeps Node's own reads, e.g. pipes) when the socket has no handle or this
 * Node does not keep those fields the way this relies on.
 *
 * Why in place: moving the handle to a new Socket (the earlier way) cost a
 * second Socket per connection, measurable on short connections.
 */
export function useReadBuffers(accepted: Socket, onread: Direction['onread']): boolean {
  const handle = (accepted as unknown as { _handle?: ReadHandle | null })._handle;
  if (!onreadFields || !handle || accepted.destroyed || handle.reading || typeof handle.useUserBuffer !== 'function') return false;
  const buf = onread.buffer();
  const fields = accepted as unknown as Record<symbol, unknown>;
  fields[onreadFields.generator] = onread.buffer;
  fields[onreadFields.callback] = onread.callback;
  fields[onreadFields.buffer] = buf;
  handle.useUserBuffer(buf);
  return true;
}
