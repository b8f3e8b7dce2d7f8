import { Registry } from 'prom-client';
import { createLogger } from '@pilot/common';
import { createProxierMetrics } from '../../src/metrics.js';
import { NoPortalRules, UserspaceProvider, UserspaceProxier } from '../../src/userspace/index.js';

const log = createLogger('svcproxy-userspace-test', { level: 'silent' });

describe('UserspaceProvider', () => {
  it('turns Service and Endpoints events into listeners and redirect rules, and removes them on delete', async () => {
    const rules = new NoPortalRules();
    const proxier = new UserspaceProxier({ listenIP: '127.0.0.1', rules, log });
    let changes = 0;
    const registry = new Registry();
    const p = new UserspaceProvider({ proxier, log, onChange: () => changes++, metrics: createProxierMetrics(registry) });
    const svc = { metadata: { namespace: 'shop', name: 'cart' }, spec: { clusterIP: '10.0.0.40', ports: [{ name: 'http', port: 80 }] } };
    p.tracker.onService(svc);
    p.tracker.onEndpoints({ metadata: { namespace: 'shop', name: 'cart' }, subsets: [{ addresses: [{ ip: '10.1.1.7' }], ports: [{ name: 'http', port: 8080 }] }] });
    expect(changes).toBe(2);
    await p.sync();
    const port = proxier.portOf('shop/cart:http');
    expect(port).toBeGreaterThan(0);
    const container = rules.last!.nat.find((c) => c.name === 'KUBE-PORTALS-CONTAINER')!.rules.map((r) => r.join(' '));
    expect(container).toEqual([
      `-d 10.0.0.40/32 -p tcp -m comment --comment shop/cart:http cluster IP -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:${port}`,
    ]);
    expect(p.lastSuccess).toBeDefined();
    // The same sync metrics as the iptables mode.
    const text = await registry.metrics();
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_duration_seconds_count 1$/m);
    expect(text).toMatch(/^svcproxy_programmed_service_ports 1$/m);
    expect(text).toMatch(/^svcproxy_programmed_endpoints 1$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_endpoint_changes_total 1$/m);
    p.tracker.onServiceDelete(svc);
    await p.sync();
    expect(proxier.portOf('shop/cart:http')).toBe(0);
    expect(rules.last!.nat.every((c) => c.rules.length === 0)).toBe(true);
    await proxier.close();
  });

  it('serves a service from its EndpointSlices too (merged per service), and rejects it when the last slice goes', async () => {
    const rules = new NoPortalRules();
    const proxier = new UserspaceProxier({ listenIP: '127.0.0.1', rules, log });
    const p = new UserspaceProvider({ proxier, log, hostname: 'node-1' });
    p.tracker.onService({ metadata: { namespace: 'shop', name: 'cart' }, spec: { clusterIP: '10.0.0.40', ports: [{ name: 'http', port: 80 }] } });
    const slice = (name: string, ip: string) => ({
      metadata: { namespace: 'shop', name, labels: { 'kubernetes.io/service-name': 'cart' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    p.tracker.onEndpointSlice(slice('cart-a', '10.1.1.7'));
    p.tracker.onEndpointSlice(slice('cart-b', '10.1.2.8'));
    await p.sync();
    expect(p.tracker.endpointsOf('shop/cart:http').map((e) => e.ip)).toEqual(['10.1.1.7', '10.1.2.8']);
    const rejects = () => rules.last!.filter.find((c) => c.name === 'KUBE-PORTALS-REJECT')!.rules.map((r) => r.join(' '));
    expect(rejects()).toEqual([]);
    expect(rules.last!.nat.find((c) => c.name === 'KUBE-PORTALS-CONTAINER')!.rules).toHaveLength(1);
    p.tracker.onEndpointSliceDelete(slice('cart-a', '10.1.1.7'));
    p.tracker.onEndpointSliceDelete(slice('cart-b', '10.1.2.8'));
    await p.sync();
    expect(rejects()).toEqual([expect.stringMatching(/^-d 10\.0\.0\.40\/32 -p tcp .*has no endpoints.* -j REJECT/)]);
    await proxier.close();
  });
});
