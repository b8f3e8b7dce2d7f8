import { createNetlink, Protocol, rt, type NetlinkMessage } from 'netlink';
import type { KernelEvent } from './kernelevents.js';
import { decodeEvent, type ReaderMessage } from './eventdecode.js';

/**
 * The netlink event reader, forked by KernelWatcher in overlayd's network
 * namespace: joins the link, neighbour, IPv4 address and IPv4 route groups
 * and sends each batch of decoded notifications to overlayd. It has no state and no
 * recovery of its own: on any socket error it exits and overlayd starts a
 * new one (an overflow aborts it inside the netlink package anyway).
 */

/** Big enough for a burst of a few thousand notifications; the kernel caps it at net.core.rmem_max. */
const RECV_BUFFER_BYTES = 1 << 20;
const GROUPS = [rt.MulticastGroups.LINK, rt.MulticastGroups.NEIGH, rt.MulticastGroups.IPV4_IFADDR, rt.MulticastGroups.IPV4_ROUTE];

const send = (m: ReaderMessage) => process.send?.(m);

if (!process.send) {
  process.stderr.write('kernelwatch-reader: run by overlayd only (needs an IPC channel)\n');
  process.exit(2);
}

// overlayd gone: nothing to report to.
process.on('disconnect', () => process.exit(0));

const sock = createNetlink(Protocol.ROUTE);
sock.on('error', (err) => {
  send({ type: 'lost', why: `netlink event socket failed (${err.code ?? err.message})` });
  process.exit(1);
});
sock.on('message', (msgs: NetlinkMessage[]) => {
  const events: KernelEvent[] = [];
  for (const m of msgs) {
    try {
      const e = decodeEvent(m);
      if (e) events.push(e);
    } catch {
      // A message this version of the parser cannot read: a repair might wait for the periodic reconcile, not worth dying for.
    }
  }
  if (events.length) send({ type: 'events', events });
});
try {
  sock.setRecvBufferSize(RECV_BUFFER_BYTES);
} catch {
  // The default buffer works too; an overflow is handled by overlayd.
}
for (const g of GROUPS) sock.addMembership(g);
send({ type: 'ready' });
