import { createServer } from 'node:net';
import { createLogger } from '@pilot/common';
import { buildServiceRules, type NodeConfig } from '../src/iptables/rules.js';
import type { EndpointInfo, ServicePortInfo } from '../src/model.js';
import { desiredHealthChecks, healthResponse, ServiceHealthServer } from '../src/service-health.js';

const cfg: NodeConfig = { clusterCIDR: '10.1.0.0/16', masqueradeAll: false, nodePortAddresses: [] };
const sp = (name: string, portName: string, over: Partial<ServicePortInfo> = {}): ServicePortInfo => ({
  namespace: 'web',
  name,
  portName,
  protocol: 'TCP',
  clusterIP: '10.0.0.60',
  port: portName === 'https' ? 443 : 80,
  externalIPs: [],
  loadBalancerIPs: ['192.0.2.20'],
  sessionAffinity: 'None',
  stickySeconds: 10800,
  externalPolicyLocal: true,
  healthCheckNodePort: 32000,
  ...over,
});
const ep = (ip: string, port: number, isLocal: boolean): EndpointInfo => ({ ip, port, ready: true, isLocal });

describe('service health checks', () => {
  it('answer 200 with the local endpoint count, 503 with none (kube-proxy body)', () => {
    expect(healthResponse({ namespace: 'web', name: 'front', localEndpoints: 2 })).toEqual({
      status: 200,
      body: '{"service":{"namespace":"web","name":"front"},"localEndpoints":2}',
    });
    expect(healthResponse({ namespace: 'web', name: 'front', localEndpoints: 0 }).status).toBe(503);
  });

  it('count local endpoints once per pod across the ports of a service', () => {
    const eps = (port: number) => [ep('10.1.1.2', port, true), ep('10.1.1.3', port, true), ep('10.1.2.2', port, false)];
    const rules = [buildServiceRules(sp('front', 'http'), eps(8080), cfg), buildServiceRules(sp('front', 'https'), eps(8443), cfg)];
    expect(desiredHealthChecks(rules)).toEqual(new Map([[32000, { namespace: 'web', name: 'front', localEndpoints: 2 }]]));
    expect(desiredHealthChecks([buildServiceRules(sp('front', 'http'), [ep('10.1.2.2', 8080, false)], cfg)]).get(32000)?.localEndpoints).toBe(0);
  });

  it('serve a port once when two services claim it, and say which one lost', () => {
    const warnings: string[] = [];
    const m = desiredHealthChecks([buildServiceRules(sp('b', 'http'), [], cfg), buildServiceRules(sp('a', 'http'), [], cfg)], (w) => warnings.push(w));
    expect(m.get(32000)?.name).toBe('a');
    expect(warnings).toEqual(['service web/b: healthCheckNodePort 32000 is already used by service web/a; not served']);
  });

  it('open, update and close listeners as services come and go', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const server = new ServiceHealthServer({ log: createLogger('test', { level: 'fatal' }), host: '127.0.0.1' });
    try {
      await server.update(new Map([[port, { namespace: 'web', name: 'front', localEndpoints: 1 }]]));
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ service: { namespace: 'web', name: 'front' }, localEndpoints: 1 });
      await server.update(new Map([[port, { namespace: 'web', name: 'front', localEndpoints: 0 }]]));
      const down = await fetch(`http://127.0.0.1:${port}/`);
      expect(down.status).toBe(503);
      await down.text();
      await server.update(new Map());
      expect(server.ports).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    } finally {
      await server.close();
    }
  });
});
