import type { ContainerInspectInfo } from 'dockerode';
import { containerStatusOf, dockerTime, sandboxStatusOf } from '../../../src/kubelet/runtime/docker-status.js';

const ZERO = '0001-01-01T00:00:00Z';

function inspect(state: Partial<ContainerInspectInfo['State']>, extra: Partial<ContainerInspectInfo> = {}): ContainerInspectInfo {
  return {
    Id: 'c1',
    Name: '/k8s_app_web_default_u1_2',
    Created: '2026-12-02T05:00:00.123456789Z',
    Image: 'sha256:abc',
    Config: { Image: 'guest/mynode', Labels: { 'io.kubernetes.docker.type': 'container', 'io.kubernetes.sandbox.id': 's1', 'io.kubernetes.container.name': 'app', app: 'x' }, Tty: false },
    HostConfig: { NetworkMode: 'container:s1' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
    State: { Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO, FinishedAt: ZERO, ...state },
    ...extra,
  } as unknown as ContainerInspectInfo;
}

describe('Docker state → CRI state and reason (cri-dockerd ContainerStatus)', () => {
  const started = '2026-12-02T05:00:01Z';
  const finished = '2026-12-02T05:00:09Z';
  it.each([
    ['running', { Running: true, Status: 'running', StartedAt: started }, 'CONTAINER_RUNNING', undefined],
    ['exited 0', { StartedAt: started, FinishedAt: finished, ExitCode: 0 }, 'CONTAINER_EXITED', 'Completed'],
    ['exited 2', { StartedAt: started, FinishedAt: finished, ExitCode: 2 }, 'CONTAINER_EXITED', 'Error'],
    ['OOM-killed', { StartedAt: started, FinishedAt: finished, ExitCode: 137, OOMKilled: true }, 'CONTAINER_EXITED', 'OOMKilled'],
    ['never started', { Status: 'created', ExitCode: 127, Error: 'exec: "nope": executable file not found in $PATH' }, 'CONTAINER_EXITED', 'ContainerCannotRun'],
    ['only created', { Status: 'created' }, 'CONTAINER_CREATED', undefined],
  ])('%s', (_what, state, want, reason) => {
    const s = containerStatusOf(inspect(state));
    expect(s.state).toBe(want);
    expect(s.reason).toBe(reason);
  });

  it('pins a container that could not run to its creation time and keeps Docker’s message', () => {
    const s = containerStatusOf(inspect({ Status: 'created', ExitCode: 127, Error: 'exec: "nope": executable file not found in $PATH' }));
    expect(s.startedAt).toBe(Date.parse('2026-12-02T05:00:00.123Z'));
    expect(s.finishedAt).toBe(s.startedAt);
    expect(s.exitCode).toBe(127);
    expect(s.message).toContain('executable file not found');
  });

  it('reads identity from labels and the attempt from the name, internal labels dropped', () => {
    const s = containerStatusOf(inspect({ Running: true }));
    expect(s.metadata).toEqual({ name: 'app', attempt: 2 });
    expect(s.podSandboxId).toBe('s1');
    expect(s.labels).toEqual({ 'io.kubernetes.container.name': 'app', app: 'x' });
  });

  it('treats Docker’s zero time as no time', () => {
    expect(dockerTime(ZERO)).toBeUndefined();
    expect(dockerTime('2026-12-02T05:00:00.5Z')).toBe(Date.parse('2026-12-02T05:00:00.5Z'));
  });
});

describe('sandbox status', () => {
  const labels = { 'io.kubernetes.docker.type': 'podsandbox', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': 'u1' };
  it('reports the bridge address as the pod IP, per network first', () => {
    const s = sandboxStatusOf(
      inspect({ Running: true }, { Name: '/k8s_POD_web_default_u1_0', Config: { Labels: labels } as never, NetworkSettings: { Networks: { bridge: { IPAddress: '10.1.5.3' } } } as never, HostConfig: { NetworkMode: 'default' } as never }),
    );
    expect(s).toMatchObject({ state: 'SANDBOX_READY', metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 }, network: { ip: '10.1.5.3' }, hostNetwork: false });
  });

  it('has no pod IP of its own with the host’s network, and is not ready once stopped', () => {
    const s = sandboxStatusOf(inspect({ Running: false }, { Name: '/k8s_POD_web_default_u1_1', Config: { Labels: labels } as never, HostConfig: { NetworkMode: 'host' } as never }));
    expect(s).toMatchObject({ state: 'SANDBOX_NOTREADY', hostNetwork: true, network: { additionalIps: [] } });
    expect(s.network.ip).toBeUndefined();
  });
});
