import { containerLabels, extractLabels, makeContainerName, makeLabels, makeSandboxName, parseName, sandboxLabels, withRandomSuffix } from '../../../src/kubelet/runtime/naming.js';

const pod = { name: 'my-node-3blsf', namespace: 'default', uid: '6d1f6c2e-0b4f-4c5e-9a39-3c1b1b8d1f00', attempt: 0 };

describe('Docker names as dockershim made them', () => {
  it('names the sandbox k8s_POD_<pod>_<ns>_<uid>_<attempt> and containers k8s_<container>_<pod>_<ns>_<uid>_<attempt>', () => {
    expect(makeSandboxName(pod)).toBe('k8s_POD_my-node-3blsf_default_6d1f6c2e-0b4f-4c5e-9a39-3c1b1b8d1f00_0');
    expect(makeContainerName(pod, { name: 'mynode', attempt: 2 })).toBe('k8s_mynode_my-node-3blsf_default_6d1f6c2e-0b4f-4c5e-9a39-3c1b1b8d1f00_2');
  });

  it('parses names back, with the leading slash Docker reports and the conflict suffix', () => {
    const name = makeContainerName(pod, { name: 'mynode', attempt: 3 });
    expect(parseName(`/${name}`)).toEqual({ containerName: 'mynode', pod: { ...pod, attempt: 3 }, attempt: 3 });
    const suffixed = withRandomSuffix(name, 0xbeef);
    expect(suffixed).toBe(`${name}_0000beef`);
    expect(parseName(suffixed)?.containerName).toBe('mynode');
  });

  it('does not take other containers for the kubelet’s', () => {
    for (const n of ['/web', '/k8s_only_four_parts', 'k8s_a_b_c_d_e_f_g', 'k8s_a_b_c_d_x', 'kube_a_b_c_d_0']) expect(parseName(n)).toBeUndefined();
  });
});

describe('labels', () => {
  it('carries annotations as annotation.<key> labels and gives them back apart, internal labels dropped', () => {
    const labels = containerLabels('sbx1', pod, { name: 'app', attempt: 0 }, { app: 'sample' }, { 'kubernetes.io/config.hash': 'abc' }, '/var/log/pods/x/app/0.log');
    expect(labels).toEqual({
      app: 'sample',
      'annotation.kubernetes.io/config.hash': 'abc',
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': pod.uid,
      'io.kubernetes.container.name': 'app',
      'io.kubernetes.docker.type': 'container',
      'io.kubernetes.sandbox.id': 'sbx1',
      'io.kubernetes.container.logpath': '/var/log/pods/x/app/0.log',
    });
    const back = extractLabels(labels);
    expect(back.annotations).toEqual({ 'kubernetes.io/config.hash': 'abc' });
    expect(back.labels).toEqual({
      app: 'sample',
      'io.kubernetes.pod.name': pod.name,
      'io.kubernetes.pod.namespace': 'default',
      'io.kubernetes.pod.uid': pod.uid,
      'io.kubernetes.container.name': 'app',
    });
  });

  it('types the sandbox as podsandbox', () => {
    expect(sandboxLabels(pod)['io.kubernetes.docker.type']).toBe('podsandbox');
    expect(makeLabels(undefined, { a: '1' })).toEqual({ 'annotation.a': '1' });
  });
});
