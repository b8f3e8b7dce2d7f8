import { applyStrategicMergePatch, PatchError } from '../../src/patch/index.js';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Pod as the server stores it after `kubectl apply -f web.yaml` and defaulting. */
function livePod(): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web',
      namespace: 'default',
      uid: 'b3f1',
      resourceVersion: '41',
      labels: { app: 'web', tier: 'fe', added: 'by-kubectl-label' },
      annotations: { [LAST_APPLIED]: '{"old":true}\n', 'team': 'net' },
      finalizers: ['example.com/a', 'example.com/b'],
    },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx:1.25',
          command: ['nginx', '-g', 'daemon off;'],
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'LOG', value: 'info' },
          ],
          ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
          resources: { limits: { cpu: '100m', memory: '64Mi' } },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
          imagePullPolicy: 'IfNotPresent',
          terminationMessagePath: '/dev/termination-log',
        },
        { name: 'sidecar', image: 'busybox:1.36', args: ['sleep', '3600'] },
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
      tolerations: [{ key: 'a', operator: 'Exists' }],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      nodeName: 'h1',
    },
    status: {
      phase: 'Running',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'False' },
      ],
      podIP: '10.1.5.7',
    },
  };
}

describe('applyStrategicMergePatch: what kubectl apply sends', () => {
  it('changing an image and a port keeps command, env, resources and server-set fields', () => {
    const patch = {
      metadata: { annotations: { [LAST_APPLIED]: '{"new":true}\n' } },
      spec: {
        '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
        containers: [
          {
            '$setElementOrder/ports': [{ containerPort: 8080 }],
            image: 'nginx:1.26',
            name: 'web',
            ports: [{ containerPort: 8080, name: 'http' }, { $patch: 'delete', containerPort: 80 }],
          },
        ],
      },
    };
    const out = applyStrategicMergePatch(livePod(), patch, 'Pod');
    const before = livePod();
    expect(out.spec.containers[0]).toEqual({
      ...before.spec.containers[0],
      image: 'nginx:1.26',
      ports: [{ containerPort: 8080, name: 'http' }],
    });
    expect(out.spec.containers[1]).toEqual(before.spec.containers[1]);
    expect(out.metadata.annotations).toEqual({ [LAST_APPLIED]: '{"new":true}\n', team: 'net' });
    expect(out.status).toEqual(before.status);
    expect(out.spec.nodeName).toBe('h1');
    // Directives never reach the stored object.
    expect(JSON.stringify(out)).not.toContain('$');
  });

  it('removing a label from the file removes only that label', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { metadata: { annotations: { [LAST_APPLIED]: 'x' }, labels: { tier: null } } },
      'Pod',
    );
    expect(out.metadata.labels).toEqual({ app: 'web', added: 'by-kubectl-label' });
  });

  it('adding an env var in the middle keeps the file order and the server-only entries', () => {
    const live = livePod();
    live.spec.containers[0].env.push({ name: 'INJECTED', value: 'by-webhook' });
    const out = applyStrategicMergePatch(
      live,
      {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
          containers: [
            {
              '$setElementOrder/env': [{ name: 'MODE' }, { name: 'DEBUG' }, { name: 'LOG' }],
              env: [{ name: 'DEBUG', value: '1' }],
              name: 'web',
            },
          ],
        },
      },
      'Pod',
    );
    expect(out.spec.containers[0].env.map((e: { name: string }) => e.name)).toEqual(['MODE', 'DEBUG', 'LOG', 'INJECTED']);
    expect(out.spec.containers[0].command).toEqual(['nginx', '-g', 'daemon off;']);
  });

  it('removing a container from the file deletes it by name', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ $patch: 'delete', name: 'sidecar' }] } },
      'Pod',
    );
    expect(out.spec.containers.map((c: { name: string }) => c.name)).toEqual(['web']);
  });

  it('$setElementOrder alone reorders a list', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }] } },
      'Pod',
    );
    expect(out.spec.containers.map((c: { name: string }) => c.name)).toEqual(['sidecar', 'web']);
    expect(out.spec.containers[1].image).toBe('nginx:1.25');
  });

  it('a field removed from the file (null) is removed, siblings stay', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { spec: { '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }], containers: [{ name: 'web', resources: { limits: { memory: null } } }] } },
      'Pod',
    );
    expect(out.spec.containers[0].resources).toEqual({ limits: { cpu: '100m' } });
  });

  it('lists without a patch strategy (command, args, tolerations) are replaced whole', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      {
        spec: {
          tolerations: [{ key: 'b', operator: 'Exists' }],
          containers: [{ name: 'sidecar', args: ['sleep', '10'] }],
        },
      },
      'Pod',
    );
    expect(out.spec.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
    expect(out.spec.containers.find((c: { name: string }) => c.name === 'sidecar').args).toEqual(['sleep', '10']);
  });
});

describe('applyStrategicMergePatch: kubectl edit / patch / the kubelet', () => {
  function rc(): any {
    return {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'rc1', labels: { app: 'rc1' } },
      spec: {
        replicas: 2,
        selector: { app: 'rc1' },
        template: {
          metadata: { labels: { app: 'rc1' } },
          spec: {
            containers: [
              {
                name: 'app',
                image: 'busybox:1.36',
                command: ['httpd', '-f'],
                ports: [{ containerPort: 8080, protocol: 'TCP' }],
                env: [{ name: 'A', value: '1' }],
              },
            ],
          },
        },
      },
      status: { replicas: 2, readyReplicas: 2, conditions: [{ type: 'ReplicaFailure', status: 'False' }] },
    };
  }

  it('kubectl edit of an RC merges through template → PodSpec → containers by name', () => {
    const out = applyStrategicMergePatch(
      rc(),
      {
        spec: {
          replicas: 3,
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'app' }],
              containers: [{ '$setElementOrder/env': [{ name: 'A' }, { name: 'B' }], env: [{ name: 'B', value: '2' }], image: 'busybox:1.37', name: 'app' }],
            },
          },
        },
      },
      'ReplicationController',
    );
    const c = out.spec.template.spec.containers[0];
    expect(out.spec.replicas).toBe(3);
    expect(c).toEqual({
      name: 'app',
      image: 'busybox:1.37',
      command: ['httpd', '-f'],
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }],
    });
  });

  it('kubectl patch without order directives puts a new element first, as upstream does', () => {
    const out = applyStrategicMergePatch(
      rc(),
      { spec: { template: { spec: { containers: [{ name: 'extra', image: 'busybox' }] } } } },
      'ReplicationController',
    );
    expect(out.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['extra', 'app']);
    expect(out.spec.template.spec.containers[1].command).toEqual(['httpd', '-f']);
  });

  it('the kubelet patches one status condition by type', () => {
    const pod = livePod();
    const out = applyStrategicMergePatch(
      pod,
      {
        status: {
          '$setElementOrder/conditions': [{ type: 'PodScheduled' }, { type: 'Ready' }, { type: 'ContainersReady' }],
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'ContainersReady', status: 'True' },
          ],
          podIP: '10.1.5.8',
        },
      },
      'Pod',
    );
    expect(out.status.conditions).toEqual([
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'True' },
      { type: 'ContainersReady', status: 'True' },
    ]);
    expect(out.status.podIP).toBe('10.1.5.8');
    expect(pod).toEqual(livePod());
  });

  it('service ports merge by port: changing targetPort keeps the allocated nodePort', () => {
    const svc = {
      kind: 'Service',
      metadata: { name: 's' },
      spec: {
        type: 'NodePort',
        clusterIP: '10.0.0.20',
        selector: { app: 'rc1' },
        ports: [
          { name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' },
          { name: 'dns', port: 53, targetPort: 53, nodePort: 30053, protocol: 'UDP' },
        ],
      },
    };
    const out = applyStrategicMergePatch(
      svc,
      { spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 53 }], ports: [{ port: 80, targetPort: 9090 }] } },
      'Service',
    );
    expect(out.spec.ports).toEqual([
      { name: 'http', port: 80, targetPort: 9090, nodePort: 30080, protocol: 'TCP' },
      svc.spec.ports[1],
    ]);
    expect(out.spec.clusterIP).toBe('10.0.0.20');
  });

  it('$patch: replace on a list element replaces the whole list', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } },
      'Pod',
    );
    expect(out.spec.containers).toEqual([{ name: 'only', image: 'x' }]);
  });

  it('$patch: replace on a map replaces the map, $patch: delete empties it', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { metadata: { labels: { $patch: 'replace', only: 'this' }, annotations: { $patch: 'delete' } } },
      'Pod',
    );
    expect(out.metadata.labels).toEqual({ only: 'this' });
    expect(out.metadata.annotations).toEqual({});
  });

  it('$patch: merge is the default and is accepted on a map', () => {
    const out = applyStrategicMergePatch(livePod(), { metadata: { labels: { $patch: 'merge', x: 'y' } } }, 'Pod');
    expect(out.metadata.labels).toEqual({ ...livePod().metadata.labels, x: 'y' });
  });

  it('finalizers merge as a set; $deleteFromPrimitiveList removes entries', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      {
        metadata: {
          '$setElementOrder/finalizers': ['example.com/b', 'example.com/c'],
          '$deleteFromPrimitiveList/finalizers': ['example.com/a'],
          finalizers: ['example.com/c'],
        },
      },
      'Pod',
    );
    expect(out.metadata.finalizers).toEqual(['example.com/b', 'example.com/c']);
    const added = applyStrategicMergePatch(livePod(), { metadata: { finalizers: ['example.com/a', 'example.com/z'] } }, 'Pod');
    expect([...added.metadata.finalizers].sort()).toEqual(['example.com/a', 'example.com/b', 'example.com/z']);
  });

  it('ownerReferences merge by uid', () => {
    const doc = { metadata: { name: 'p', ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'rc1', uid: 'u1' }] } };
    const out = applyStrategicMergePatch(
      doc,
      { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ReplicationController', name: 'rc2', uid: 'u2' }, { uid: 'u1', controller: true }] } },
      'Pod',
    );
    expect(out.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'rc2', uid: 'u2' },
      { apiVersion: 'v1', kind: 'ReplicationController', name: 'rc1', uid: 'u1', controller: true },
    ]);
  });

  it('$retainKeys switches a volume source (volumes are merge,retainKeys)', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { spec: { volumes: [{ $retainKeys: ['hostPath', 'name'], hostPath: { path: '/srv' }, name: 'data' }] } },
      'Pod',
    );
    expect(out.spec.volumes).toEqual([{ name: 'data', hostPath: { path: '/srv' } }]);
  });

  it('node addresses and conditions merge by type; taints are replaced', () => {
    const node = {
      kind: 'Node',
      metadata: { name: 'h1' },
      spec: { taints: [{ key: 'a', effect: 'NoSchedule' }], podCIDRs: ['10.1.5.0/24'] },
      status: { addresses: [{ type: 'InternalIP', address: '10.9.0.11' }, { type: 'Hostname', address: 'h1' }] },
    };
    const out = applyStrategicMergePatch(
      node,
      { spec: { taints: [{ key: 'b', effect: 'NoExecute' }] }, status: { addresses: [{ type: 'InternalIP', address: '10.9.0.12' }] } },
      'Node',
    );
    expect(out.spec.taints).toEqual([{ key: 'b', effect: 'NoExecute' }]);
    expect(out.status.addresses).toEqual([
      { type: 'InternalIP', address: '10.9.0.12' },
      { type: 'Hostname', address: 'h1' },
    ]);
  });

  it('a list set to null is deleted even when an order directive names it', () => {
    const out = applyStrategicMergePatch(
      livePod(),
      { spec: { containers: [{ name: 'web', '$setElementOrder/env': [], env: null }] } },
      'Pod',
    );
    expect(out.spec.containers[0]).not.toHaveProperty('env');
    expect(out.spec.containers[0].command).toEqual(['nginx', '-g', 'daemon off;']);
  });

  it('a value of another type replaces the live one', () => {
    const doc = { metadata: { name: 'p', labels: 'oops' } };
    expect(applyStrategicMergePatch(doc, { metadata: { labels: { a: 'b', c: null } } }, 'Pod').metadata.labels).toEqual({ a: 'b' });
  });

  it('endpoint subsets have no merge key and are replaced whole', () => {
    const ep = { kind: 'Endpoints', metadata: { name: 's' }, subsets: [{ addresses: [{ ip: '10.1.5.7' }], ports: [{ port: 80 }] }] };
    const out = applyStrategicMergePatch(ep, { subsets: [{ addresses: [{ ip: '10.1.6.7' }], ports: [{ port: 80 }] }] }, 'Endpoints');
    expect(out.subsets).toEqual([{ addresses: [{ ip: '10.1.6.7' }], ports: [{ port: 80 }] }]);
  });

  it('new fields taken from the patch carry no directives or nulls', () => {
    const doc = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } };
    const out = applyStrategicMergePatch(
      doc,
      { spec: { initContainers: [{ name: 'init', image: 'y', env: [{ name: 'A', value: '1' }, { $patch: 'delete', name: 'B' }] }], dnsConfig: { options: null, nameservers: ['1.1.1.1'] } } },
      'Pod',
    );
    expect(out.spec).toEqual({
      containers: [{ name: 'c', image: 'x' }],
      initContainers: [{ name: 'init', image: 'y', env: [{ name: 'A', value: '1' }] }],
      dnsConfig: { nameservers: ['1.1.1.1'] },
    });
  });
});

describe('applyStrategicMergePatch: errors', () => {
  it.each([
    [{ spec: { containers: [{ image: 'x' }] } }, /spec\.containers: element \{"image":"x"\} does not contain the merge key "name"/],
    [{ spec: { containers: [{ $patch: 'delete', image: 'x' }] } }, /spec\.containers\[0\]: \$patch: delete element does not contain the merge key "name"/],
    [{ spec: { containers: [{ $patch: 'merge' }] } }, /merging lists cannot yet be specified/],
    [{ metadata: { $patch: 'explode' } }, /metadata: unknown \$patch directive "explode"/],
    [{ spec: { volumes: [{ $retainKeys: ['name'], name: 'data', hostPath: { path: '/x' } }] } }, /field "hostPath" is in the patch but not in \$retainKeys/],
    [{ spec: { '$setElementOrder/containers': [{ name: 'web' }], containers: [{ name: 'other', image: 'x' }] } }, /does not match \$setElementOrder\/containers/],
    [[{ op: 'add' }], /must be a JSON object/],
  ])('rejects %j with a one-line 400', (patch, message) => {
    let err: unknown;
    try {
      applyStrategicMergePatch(livePod(), patch, 'Pod');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PatchError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
    expect((err as PatchError).code).toBe(400);
  });

  it('refuses kinds it has no schema for with 415', () => {
    expect(() => applyStrategicMergePatch({}, {}, 'Widget')).toThrow('strategic merge patch is not supported for kind "Widget"');
  });
});
