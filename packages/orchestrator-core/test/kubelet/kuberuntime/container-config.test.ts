import type { Pod } from '@pilot/api';
import { ContainerConfigError, expand, generateContainerConfig, generatePodSandboxConfig, makeEnvironmentVariables, type EnvSources } from '../../../src/kubelet/kuberuntime/container-config.js';

const pod: Pod = {
  metadata: { name: 'web', namespace: 'prod', uid: 'u1', labels: { app: 'web' }, annotations: { team: 'net' } },
  spec: {
    nodeName: 'h1',
    serviceAccountName: 'default',
    terminationGracePeriodSeconds: 5,
    containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }], command: ['sh', '-c', 'echo $(GREETING) $$(LITERAL)'] }],
  },
};

const src = (objects: Record<string, object> = {}): EnvSources => ({
  nodeName: 'h1',
  hostIp: '172.30.1.11',
  podIps: ['10.1.5.2'],
  configMap: async (ns, name) => objects[`cm/${ns}/${name}`] as never,
  secret: async (ns, name) => objects[`secret/${ns}/${name}`] as never,
});

describe('container configs (generateContainerConfig, makeEnvironmentVariables)', () => {
  it('resolves fieldRefs, ConfigMap and Secret keys, envFrom with a prefix, and expands $(VAR) from earlier variables', async () => {
    const env = await makeEnvironmentVariables(
      pod,
      {
        name: 'app',
        envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
        env: [
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
          { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
          { name: 'URL', value: 'http://$(IP):80/$(POD) $(NOPE) $$(IP)' },
        ],
      } as never,
      src({ 'cm/prod/settings': { data: { mode: 'fast', level: '3' } }, 'secret/prod/creds': { data: { password: Buffer.from('s3cret').toString('base64') } } }),
    );
    expect(Object.fromEntries(env.map((e) => [e.key, e.value]))).toEqual({
      CFG_mode: 'fast',
      CFG_level: '3',
      POD: 'web',
      NS: 'prod',
      IP: '10.1.5.2',
      HOST: '172.30.1.11',
      NODE: 'h1',
      APP: 'web',
      MODE: 'fast',
      PASS: 's3cret',
      URL: 'http://10.1.5.2:80/web $(NOPE) $(IP)',
    });
  });

  it('a missing ConfigMap or key is a config error naming it, unless optional', async () => {
    const c = (ref: object) => ({ name: 'app', env: [{ name: 'X', valueFrom: { configMapKeyRef: ref } }] }) as never;
    await expect(makeEnvironmentVariables(pod, c({ name: 'none', key: 'k' }), src())).rejects.toEqual(new ContainerConfigError('configmap "none" not found'));
    await expect(makeEnvironmentVariables(pod, c({ name: 'cm', key: 'k' }), src({ 'cm/prod/cm': { data: {} } }))).rejects.toThrow("couldn't find key k in ConfigMap prod/cm");
    expect(await makeEnvironmentVariables(pod, c({ name: 'none', key: 'k', optional: true }), src())).toEqual([]);
  });

  it('expands command and args, records restart count and spec hash, and maps hostPorts onto the sandbox', () => {
    expect(expand('$(A)-$(B)-$$(A)', new Map([['A', '1']]))).toBe('1-$(B)-$(A)');
    const cfg = generateContainerConfig(pod, pod.spec!.containers[0]!, 'busybox', { restartCount: 3, envs: [{ key: 'GREETING', value: 'hi' }], mounts: [], kind: 'app' });
    expect(cfg.metadata).toEqual({ name: 'app', attempt: 3 });
    expect(cfg.command).toEqual(['sh', '-c', 'echo hi $(LITERAL)']);
    expect(cfg.annotations).toMatchObject({ 'io.kubernetes.container.restartCount': '3', 'io.kubernetes.pod.terminationGracePeriod': '5', 'io.kubernetes.container.hash': expect.stringMatching(/^[0-9a-f]{8}$/) });
    const sb = generatePodSandboxConfig(pod, 1, { servers: ['10.0.0.10'], searches: [], options: [] });
    expect(sb).toMatchObject({ metadata: { name: 'web', namespace: 'prod', uid: 'u1', attempt: 1 }, hostname: 'web', portMappings: [{ protocol: 'TCP', containerPort: 80, hostPort: 8080 }], labels: { app: 'web' }, annotations: { team: 'net' } });
  });
});
