import type { Node, Pod } from '@pilot/api';
import { containerFor, kubeletEndpoint, kubeletPath } from '../../src/apiserver/registry/kubelet-location.js';

const pod = (containers: string[]): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: containers.map((name) => ({ name, image: 'busybox' })) } });

describe('kubelet proxy locations', () => {
  it('picks the only container, or the named one; several without a name is a one-line 400 listing them', () => {
    expect(containerFor(pod(['c']), null)).toBe('c');
    expect(containerFor(pod(['a', 'b']), 'b')).toBe('b');
    expect(() => containerFor(pod(['a', 'b']), null)).toThrow('a container name must be specified for pod web, choose one of: [a b]');
    expect(() => containerFor(pod(['a']), 'zz')).toThrow('container zz is not valid for pod web');
  });

  it('takes the kubelet address from the Node: InternalIP + daemonEndpoints port, or says what is missing', () => {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.9.0.11' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
    };
    expect(kubeletEndpoint(node)).toEqual({ host: '10.9.0.11', port: 10250 });
    expect(kubeletEndpoint({ ...node, status: { daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } } })).toBe('node "n1" has no InternalIP address');
    expect(kubeletEndpoint({ ...node, status: { addresses: [{ type: 'InternalIP', address: '10.9.0.11' }] } })).toMatch(/^node "n1" has no kubelet endpoint/);
  });

  it('maps pods/log and pods/exec onto /containerLogs and /exec, keeping only the kubelet\'s parameters', () => {
    const q = new URLSearchParams('container=c&follow=true&tailLines=5&pretty=true');
    expect(kubeletPath('log', 'default', 'web', 'c', q)).toBe('/containerLogs/default/web/c?follow=true&tailLines=5');
    const e = new URLSearchParams('command=sh&command=-c&command=echo+hi&container=c&stdin=true&stdout=true&tty=false');
    expect(kubeletPath('exec', 'ns', 'web', 'c', e)).toBe('/exec/ns/web/c?command=sh&command=-c&command=echo+hi&stdin=true&stdout=true&tty=false');
  });
});
