import { Registry } from 'prom-client';
import { ChangeTracker } from '../src/change-tracker.js';
import { createProxierMetrics } from '../src/metrics.js';
import type { EndpointSliceLike } from '../src/model.js';
import { ep, sp } from './fixtures.js';


const service = { metadata: { namespace: 'shop', name: 'cart' }, spec: { clusterIP: '10.0.0.40', ports: [{ name: 'http', port: 80 }] } };
const slice = (name: string, ips: string[], over: Partial<EndpointSliceLike> = {}): EndpointSliceLike => ({
  metadata: { namespace: 'shop', name, labels: { 'kubernetes.io/service-name': 'cart' } },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: ip.endsWith('.7') ? 'node-1' : 'node-2' })),
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  ...over,
});
const ips = (t: ChangeTracker, key: string) => t.endpointsOf(key).map((e) => e.ip);

describe('the change tracker', () => {
  it('marks only ports whose data changed', () => {
    const t = new ChangeTracker();
    t.setService('ns/a', [sp('a'), sp('a', { portName: 'x', port: 54 })]);
    expect([...t.takeDirty()].sort()).toEqual(['ns/a', 'ns/a:x']);
    t.setService('ns/a', [sp('a'), sp('a', { portName: 'x', port: 54 })]);
    expect(t.takeDirty().size).toBe(0);
    t.setService('ns/a', [sp('a')]);
    expect([...t.takeDirty()]).toEqual(['ns/a:x']);
    t.setEndpoints('ns/a', new Map([['ns/a', [ep('10.1.1.2')]]]));
    expect([...t.takeDirty()]).toEqual(['ns/a']);
    t.setEndpoints('ns/a', new Map());
    expect([...t.takeDirty()]).toEqual(['ns/a']);
    expect(t.endpointsOf('ns/a')).toEqual([]);
  });

  it('marks a service dirty when only the locality of an endpoint changed', () => {
    const t = new ChangeTracker();
    t.setEndpoints('ns/lb', new Map([['ns/lb', [ep('10.1.1.2', { isLocal: false })]]]));
    t.takeDirty();
    t.setEndpoints('ns/lb', new Map([['ns/lb', [ep('10.1.1.2', { isLocal: true })]]]));
    expect([...t.takeDirty()]).toEqual(['ns/lb']);
  });

  it('turns Service and Endpoints events into the model, asks for a sync and counts the changes', async () => {
    const registry = new Registry();
    let asked = 0;
    const t = new ChangeTracker({ hostname: 'node-1', metrics: createProxierMetrics(registry), onChange: () => asked++, now: () => 5_000 });
    t.onService(service);
    t.onEndpoints({ metadata: { namespace: 'shop', name: 'cart' }, subsets: [{ addresses: [{ ip: '10.1.1.7', nodeName: 'node-1' }], ports: [{ name: 'http', port: 8080 }] }] });
    expect([...t.takeDirty()]).toEqual(['shop/cart:http']);
    expect(t.state()).toEqual({
      services: new Map([['shop/cart:http', expect.objectContaining({ clusterIP: '10.0.0.40', port: 80 })]]),
      endpoints: new Map([['shop/cart:http', [{ ip: '10.1.1.7', port: 8080, ready: true, isLocal: true }]]]),
    });
    expect(asked).toBe(2);
    expect(t.lastQueued).toBe(5_000);
    const text = await registry.metrics();
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_service_changes_total 1$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_endpoint_changes_total 1$/m);
    expect(text).toMatch(/^kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds 5$/m);

    t.onServiceDelete(service);
    expect([...t.takeDirty()]).toEqual(['shop/cart:http']);
    expect(t.state().services.size).toBe(0);
  });

  it('merges the EndpointSlices of a service and follows their updates and deletes', () => {
    const t = new ChangeTracker({ hostname: 'node-1' });
    t.onService(service);
    t.onEndpointSlice(slice('cart-a', ['10.1.1.7']));
    t.onEndpointSlice(slice('cart-b', ['10.1.2.8']));
    expect(ips(t, 'shop/cart:http')).toEqual(['10.1.1.7', '10.1.2.8']);
    expect(t.endpointsOf('shop/cart:http').map((e) => e.isLocal)).toEqual([true, false]);
    t.takeDirty();
    // An update of one slice replaces only what that slice holds.
    t.onEndpointSlice(slice('cart-b', ['10.1.2.9']));
    expect(ips(t, 'shop/cart:http')).toEqual(['10.1.1.7', '10.1.2.9']);
    expect([...t.takeDirty()]).toEqual(['shop/cart:http']);
    t.onEndpointSliceDelete(slice('cart-a', []));
    expect(ips(t, 'shop/cart:http')).toEqual(['10.1.2.9']);
    t.onEndpointSliceDelete(slice('cart-b', []));
    expect(ips(t, 'shop/cart:http')).toEqual([]);
    expect([...t.takeDirty()]).toEqual(['shop/cart:http']);
  });

  it('ignores a slice without a service-name label, saying which', () => {
    const warnings: string[] = [];
    let asked = 0;
    const t = new ChangeTracker({ warn: (w) => warnings.push(w), onChange: () => asked++ });
    t.onEndpointSlice(slice('stray', ['10.1.1.7'], { metadata: { namespace: 'shop', name: 'stray' } }));
    expect(warnings).toEqual(['endpointslice shop/stray: no kubernetes.io/service-name label; ignored']);
    expect(t.pending).toBe(0);
    expect(asked).toBe(0);
  });

  it('measures network programming latency from the trigger-time annotation to a successful sync, and counts pending changes', async () => {
    const registry = new Registry();
    let now = Date.parse('2026-12-02T10:00:03Z');
    const t = new ChangeTracker({ metrics: createProxierMetrics(registry), now: () => now });
    const endpoints = (ip: string, trigger?: string) => ({
      metadata: { namespace: 'shop', name: 'cart', ...(trigger ? { annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': trigger } } : {}) },
      subsets: [{ addresses: [{ ip }], ports: [{ name: 'http', port: 8080 }] }],
    });
    const metric = async (name: string) => (await registry.metrics()).split('\n').find((l) => l.startsWith(name))!;
    t.onService(service);
    t.onEndpoints(endpoints('10.1.1.7', '2026-12-02T10:00:01Z'));
    expect(await metric('kubeproxy_sync_proxy_rules_endpoint_changes_pending')).toBe('kubeproxy_sync_proxy_rules_endpoint_changes_pending 1');
    expect(await metric('kubeproxy_sync_proxy_rules_service_changes_pending')).toBe('kubeproxy_sync_proxy_rules_service_changes_pending 1');
    // A failed sync keeps the change (and its trigger time) for the next one.
    t.markDirty(t.takeDirty());
    expect(await metric('kubeproxy_sync_proxy_rules_endpoint_changes_pending')).toBe('kubeproxy_sync_proxy_rules_endpoint_changes_pending 0');
    now += 1_000;
    t.takeDirty();
    t.synced();
    expect(await metric('kubeproxy_network_programming_duration_seconds_count')).toBe('kubeproxy_network_programming_duration_seconds_count 1');
    expect(await metric('kubeproxy_network_programming_duration_seconds_sum')).toBe('kubeproxy_network_programming_duration_seconds_sum 3');
    expect(await metric('kubeproxy_network_programming_duration_seconds_bucket{le="2"}')).toBe('kubeproxy_network_programming_duration_seconds_bucket{le="2"} 0');
    expect(await metric('kubeproxy_network_programming_duration_seconds_bucket{le="3"}')).toBe('kubeproxy_network_programming_duration_seconds_bucket{le="3"} 1');
    // No annotation, or a resync of the same endpoints: nothing to measure.
    t.onEndpoints(endpoints('10.1.1.8'));
    t.onEndpoints(endpoints('10.1.1.8', '2026-12-02T10:00:04Z'));
    t.takeDirty();
    t.synced();
    expect(await metric('kubeproxy_network_programming_duration_seconds_count')).toBe('kubeproxy_network_programming_duration_seconds_count 1');
  });
});
