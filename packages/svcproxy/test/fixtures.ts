import type { EndpointInfo, ServicePortInfo } from '../src/model.js';

/** A UDP service port `ns/<name>` on 10.0.0.50:53 (DNS-like: UDP is what conntrack cleanup cares about). */
export const sp = (name: string, over: Partial<ServicePortInfo> = {}): ServicePortInfo => ({
  namespace: 'ns',
  name,
  portName: '',
  protocol: 'UDP',
  clusterIP: '10.0.0.50',
  port: 53,
  externalIPs: [],
  loadBalancerIPs: [],
  sessionAffinity: 'None',
  stickySeconds: 10800,
  ...over,
});

/** A ready endpoint on port 5353. */
export const ep = (ip: string, over: Partial<EndpointInfo> = {}): EndpointInfo => ({ ip, port: 5353, ready: true, ...over });
