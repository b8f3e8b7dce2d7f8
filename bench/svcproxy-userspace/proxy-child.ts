/**
 * The userspace proxier alone on loopback (no iptables: the bench dials its
 * listeners directly), in its own process like the daemon would be.
 * Usage: tsx proxy-child.ts IPERF_PORT REPLY_PORT; prints {"iperf":p,"reply":p}.
 */
import { createLogger } from '@pilot/common';
import { NoPortalRules, UserspaceProxier } from '../../packages/svcproxy/src/userspace/index.js';
import type { ProxyState, ServicePortInfo } from '../../packages/svcproxy/src/model.js';

const [iperfPort, replyPort] = process.argv.slice(2).map(Number);
const svc = (name: string): ServicePortInfo => ({
  namespace: 'bench',
  name,
  portName: '',
  protocol: 'TCP',
  clusterIP: '10.0.0.99',
  port: 80,
  externalIPs: [],
  loadBalancerIPs: [],
  sessionAffinity: 'None',
  stickySeconds: 10800,
});
const state: ProxyState = {
  services: new Map([
    ['bench/iperf', svc('iperf')],
    ['bench/reply', svc('reply')],
  ]),
  endpoints: new Map([
    ['bench/iperf', [{ ip: '127.0.0.1', port: iperfPort!, ready: true }]],
    ['bench/reply', [{ ip: '127.0.0.1', port: replyPort!, ready: true }]],
  ]),
};
const proxier = new UserspaceProxier({ listenIP: '127.0.0.1', rules: new NoPortalRules(), log: createLogger('svcproxy-userspace', { level: 'warn' }) });
await proxier.sync(state);
console.log(JSON.stringify({ iperf: proxier.portOf('bench/iperf'), reply: proxier.portOf('bench/reply') }));
process.on('SIGTERM', () => void proxier.close().then(() => process.exit(0)));
