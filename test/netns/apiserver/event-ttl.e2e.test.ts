import type { Event, KubeObject } from '@pilot/api';
import { waitFor } from '@pilot/common';
import { Cluster, startControlPlane, withLogsOnFailure, type ControlPlane } from '@pilot/netns';
import { pod, startInProcess, type InProcess } from './helpers.js';

/**
 * `--event-ttl`: Events are bound to a (reused) etcd lease on every write and
 * vanish from etcd — and so from the API — once it expires; other objects
 * stay. `--event-ttl 0` stores them without a lease.
 */

let c: Cluster | undefined;
/** The `pilot apiserver` binary with --event-ttl 3s. */
let cp: ControlPlane | undefined;
/** In process, own prefixes: --event-ttl 0, and the default (1h). */
let forever: InProcess | undefined;
let hourly: InProcess | undefined;

beforeAll(async () => {
  c = await Cluster.create({ hosts: 0, etcd: true });
  cp = await startControlPlane(c, { flags: ['--event-ttl', '3s'] });
  forever = await startInProcess(c, { etcdPrefix: '/forever', eventTtl: '0' });
  hourly = await startInProcess(c, { etcdPrefix: '/hourly' });
});

afterAll(async () => {
  await forever?.close();
  await hourly?.close();
  await cp?.close();
  await c?.teardown();
});

const t = (name: string, fn: () => Promise<void>) => it(name, withLogsOnFailure(() => c, fn));

const event = (name: string, about: string): Event => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: 'default' },
  involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: 'default', name: about },
  reason: 'Testing',
  message: `about ${about}`,
  type: 'Normal',
});

/** What etcd holds at `key`: the value and the lease (0 = none), read with etcdctl. */
async function etcdKey(key: string): Promise<{ lease: bigint; value: Record<string, unknown> } | undefined> {
  const r = await c!.etcd!.etcdctl(['get', key, '-w', 'json']);
  if (r.exitCode !== 0) throw new Error(`etcdctl get ${key}: ${r.stderr}`);
  // Lease IDs are int64: read the number as text so it keeps every digit.
  const kvs = (JSON.parse(r.stdout.replace(/"lease":(\d+)/g, '"lease":"$1"')) as { kvs?: { lease?: string; value: string }[] }).kvs ?? [];
  const kv = kvs[0];
  if (!kv) return undefined;
  return { lease: BigInt(kv.lease ?? '0'), value: JSON.parse(Buffer.from(kv.value, 'base64').toString()) as Record<string, unknown> };
}

/** The TTL etcd granted a lease with (seconds). */
async function grantedTtl(lease: bigint): Promise<number> {
  const r = await c!.etcd!.etcdctl(['lease', 'timetolive', lease.toString(16), '-w', 'json']);
  if (r.exitCode !== 0) throw new Error(`etcdctl lease timetolive: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { 'granted-ttl': number })['granted-ttl'];
}

describe('event TTL', () => {
  t('with --event-ttl 3s an Event expires from etcd and the API while a Pod created with it stays', async () => {
    const api = cp!.client;
    await api.create('events', event('ttl-ev', 'ttl-pod'), { namespace: 'default' });
    await api.create('pods', pod('ttl-pod'), { namespace: 'default' });

    const stored = await etcdKey('/registry/events/default/ttl-ev');
    expect(stored?.lease).toBeGreaterThan(0n);
    // TTL + the reuse window, in whole seconds: no event lives shorter than the TTL.
    expect(await grantedTtl(stored!.lease)).toBe(4);
    expect((await etcdKey('/registry/pods/default/ttl-pod'))?.lease).toBe(0n);

    await waitFor(
      async () => {
        const list = await api.list('events', { namespace: 'default', fieldSelector: 'involvedObject.name=ttl-pod' });
        return list.items.length === 0;
      },
      { what: 'the event to expire', timeoutMs: 20_000 },
    );
    expect(await etcdKey('/registry/events/default/ttl-ev')).toBeUndefined();
    expect((await api.get('pods', 'ttl-pod', { namespace: 'default' })).metadata.name).toBe('ttl-pod');
  });

  t("updates through the API, the apiserver's own events and their count bumps are all written with a lease", async () => {
    // The default TTL (1h): nothing expires while the test looks.
    const api = hourly!.client;
    await api.create('events', event('upd', 'p'), { namespace: 'default' });
    // A put without a lease would keep the event forever.
    await api.patch('events', 'upd', { message: 'changed' }, 'merge', { namespace: 'default' });
    const updated = await etcdKey('/hourly/events/default/upd');
    expect(updated?.value.message).toBe('changed');
    expect(updated?.lease).toBeGreaterThan(0n);

    await api.create('services', { metadata: { name: 'holder' }, spec: { clusterIP: '10.0.0.77', ports: [{ port: 80 }] } }, { namespace: 'default' });
    // The same refused create twice: one FailedToAllocate event, its count bumped by the second.
    for (let i = 0; i < 2; i++) {
      await expect(api.create('services', { metadata: { name: 'clash' }, spec: { clusterIP: '10.0.0.77', ports: [{ port: 80 }] } }, { namespace: 'default' })).rejects.toMatchObject({
        code: 422,
      });
    }
    const failed = (await api.list<Event>('events', { namespace: 'default', fieldSelector: 'involvedObject.name=clash' })).items;
    expect(failed.map((e) => [e.reason, e.count])).toEqual([['FailedToAllocate', 2]]);
    const bumped = await etcdKey(`/hourly/events/default/${failed[0]!.metadata.name}`);
    expect(bumped?.value.count).toBe(2);
    expect(bumped?.lease).toBeGreaterThan(0n);
    const allocated = (await api.list<Event>('events', { namespace: 'default', fieldSelector: 'involvedObject.name=holder' })).items;
    expect(allocated.map((e) => e.reason)).toContain('ClusterIPAllocated');
    expect((await etcdKey(`/hourly/events/default/${allocated[0]!.metadata.name}`))?.lease).toBeGreaterThan(0n);
  });

  t('by default (1h) writes in quick succession share one lease granted for 1h + 1m', async () => {
    const leases: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      await hourly!.client.create('events', event(`hour-${i}`, 'p'), { namespace: 'default' });
      leases.push((await etcdKey(`/hourly/events/default/hour-${i}`))!.lease);
    }
    expect(leases[0]).toBeGreaterThan(0n);
    expect(new Set(leases).size).toBe(1);
    expect(await grantedTtl(leases[0]!)).toBe(3_660);
  });

  t('with --event-ttl 0 no lease is attached', async () => {
    const ev = (await forever!.client.create('events', event('kept', 'p'), { namespace: 'default' })) as KubeObject;
    expect(ev.metadata.name).toBe('kept');
    const stored = await etcdKey('/forever/events/default/kept');
    expect(stored?.value.reason).toBe('Testing');
    expect(stored?.lease).toBe(0n);
  });
});
