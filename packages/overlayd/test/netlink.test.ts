import { EventEmitter } from 'node:events';
import { createRtNetlink, type ErrnoException, type RtNetlinkSocket } from 'netlink';
import { Kernel, KernelError } from '../src/netlink.js';

/**
 * The request socket's failure handling. Listing links needs no privilege,
 * so the real socket works without root; a lost reply is what a fake socket
 * is for (the kernel cannot be made to drop one on purpose).
 */

/** An error as the netlink binding builds it (ErrnoException in its binding.cc). */
const errno = (syscall: string, code: string, errnum: number, message: string): ErrnoException =>
  Object.assign(new Error(message), { name: 'ErrnoException' as const, syscall, code, errno: errnum });
/** What the binding reports when recvmsg fails with a full receive buffer. */
const enobufs = () => errno('recvmsg', 'ENOBUFS', -105, 'Error when receiving Netlink message: No buffer space available');

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A request socket whose requests never get a reply. */
function silentSocket(port: number): RtNetlinkSocket & { closed: boolean } {
  const socket = Object.assign(new EventEmitter(), {
    address: () => ({ port, groups: 0 }),
    close: () => {
      fake.closed = true;
    },
  });
  const fake = { socket, closed: false, getLinks: () => new Promise(() => undefined) };
  return fake as unknown as RtNetlinkSocket & { closed: boolean };
}

describe('the kernel request socket', () => {
  const kernels: Kernel[] = [];
  afterEach(() => {
    for (const k of kernels.splice(0)) k.close();
  });

  it('survives an error the binding reports on it, says so once with context, and sends the next request on a new socket', async () => {
    const opened: RtNetlinkSocket[] = [];
    const reported: KernelError[] = [];
    const k = new Kernel({
      openSocket: () => {
        const s = createRtNetlink();
        opened.push(s);
        return s;
      },
      onSocketError: (err) => reported.push(err),
    });
    kernels.push(k);
    expect((await k.links()).map((l) => l.name)).toContain('lo');
    const firstPort = k.port;
    // The binding's error callback emits on the raw socket; with no listener this would throw out of the poll callback.
    opened[0]!.socket.socket.emit('error', enobufs());
    opened[0]!.socket.socket.emit('error', enobufs());
    expect(reported.map((e) => e.message)).toEqual([
      `netlink request socket (port ${firstPort}) failed: ENOBUFS: Error when receiving Netlink message: No buffer space available`,
    ]);
    expect((await k.links()).map((l) => l.name)).toContain('lo');
    expect(opened).toHaveLength(2);
    expect(k.port).toBe(opened[1]!.socket.address().port);
    expect(k.port).not.toBe(firstPort);
  });

  it('fails the request in flight instead of waiting for a reply that will not come, and the next one goes out', async () => {
    const opened: ReturnType<typeof silentSocket>[] = [];
    const reported: string[] = [];
    const k = new Kernel({
      openSocket: () => {
        const s = silentSocket(101 + opened.length);
        opened.push(s);
        return s;
      },
      onSocketError: (err) => reported.push(err.message),
    });
    kernels.push(k);
    const first = k.links();
    const second = k.link('flannel.1');
    await nextTurn();
    opened[0]!.socket.emit('error', enobufs());
    await expect(first).rejects.toThrow(KernelError);
    await expect(first).rejects.toThrow('list links: netlink request socket (port 101) failed: ENOBUFS');
    expect(reported).toEqual(['netlink request socket (port 101) failed during "list links": ENOBUFS: Error when receiving Netlink message: No buffer space available']);
    // The queued request went out on a new socket (which, being silent too, fails with it).
    await nextTurn();
    expect(opened).toHaveLength(2);
    expect(opened[0]!.closed).toBe(true);
    expect(k.port).toBe(102);
    opened[1]!.socket.emit('error', enobufs());
    await expect(second).rejects.toThrow('list links: netlink request socket (port 102) failed');
    expect(reported).toHaveLength(2);
  });

  it('reports a failure between requests without an unhandled rejection', async () => {
    const opened: ReturnType<typeof silentSocket>[] = [];
    const reported: string[] = [];
    const k = new Kernel({
      openSocket: () => {
        const s = silentSocket(201 + opened.length);
        opened.push(s);
        return s;
      },
      onSocketError: (err) => reported.push(err.message),
    });
    kernels.push(k);
    opened[0]!.socket.emit('error', errno('', 'EBADF', -9, 'error when polling socket: bad file descriptor'));
    await nextTurn();
    expect(reported).toEqual(['netlink request socket (port 201) failed: EBADF: error when polling socket: bad file descriptor']);
    expect(opened[0]!.closed).toBe(true);
    // Until the next request opens a socket, notifications naming the old port are still recognised as overlayd's.
    expect(k.port).toBe(201);
  });
});
