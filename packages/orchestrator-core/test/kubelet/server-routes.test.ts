import { pickContainer, pickSandbox } from '../../src/kubelet/container-lookup.js';
import type { Container, PodSandbox } from '../../src/kubelet/runtime/runtime.js';
import { execCommand, parseContainerLogsQuery, routeKubeletRequest, runCommand } from '../../src/kubelet/server-routes.js';
import { clientIdentity } from '../../src/kubelet/server.js';

describe('kubelet API routes', () => {
  it.each([
    ['GET', '/containerLogs/ns/web/c', { kind: 'containerLogs', namespace: 'ns', pod: 'web', container: 'c' }],
    ['POST', '/exec/ns/web/c', { kind: 'exec', namespace: 'ns', pod: 'web', container: 'c' }],
    ['GET', '/exec/ns/web/uid-1/c', { kind: 'exec', namespace: 'ns', pod: 'web', uid: 'uid-1', container: 'c' }],
    ['POST', '/attach/ns/web/c', { kind: 'attach', namespace: 'ns', pod: 'web', container: 'c' }],
    ['POST', '/portForward/ns/web', { kind: 'portForward', namespace: 'ns', pod: 'web' }],
    ['GET', '/portForward/ns/web/uid-1', { kind: 'portForward', namespace: 'ns', pod: 'web', uid: 'uid-1' }],
    ['POST', '/run/ns/web/c', { kind: 'run', namespace: 'ns', pod: 'web', container: 'c' }],
    ['GET', '/pods', { kind: 'pods' }],
    ['GET', '/pods/', { kind: 'pods' }],
    ['GET', '/healthz', { kind: 'healthz' }],
    ['GET', '/containerLogs/my%2Dns/web/c', { kind: 'containerLogs', namespace: 'my-ns', pod: 'web', container: 'c' }],
  ])('%s %s', (method, path, route) => {
    expect(routeKubeletRequest(method, path)).toEqual({ ok: true, route });
  });

  it.each([
    ['GET', '/'],
    ['GET', '/containerLogs/ns/web'],
    ['GET', '/exec/ns/web/a/b/c'],
    ['GET', '/containerLogs/ns/%2E%2E/c'],
    ['GET', '/containerLogs/ns/a%2Fb/c'],
    ['GET', '/containerLogs/ns/%zz/c'],
    ['GET', '/metrics/cadvisor'],
  ])('%s %s is 404', (method, path) => {
    expect(routeKubeletRequest(method, path)).toMatchObject({ ok: false, code: 404 });
  });

  it('refuses the wrong method with 405 naming the allowed ones', () => {
    expect(routeKubeletRequest('GET', '/run/ns/web/c')).toEqual({ ok: false, code: 405, message: 'GET is not allowed on /run (allowed: POST)' });
    expect(routeKubeletRequest('DELETE', '/pods')).toMatchObject({ ok: false, code: 405 });
  });
});

describe('containerLogs parameters', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  it('reads follow, previous, timestamps, tailLines, limitBytes and turns sinceSeconds into a time', () => {
    expect(parseContainerLogsQuery(new URLSearchParams('follow=true&previous=true&timestamps=true&tailLines=5&limitBytes=100&sinceSeconds=60'), now)).toEqual({
      follow: true,
      previous: true,
      timestamps: true,
      tailLines: 5,
      limitBytes: 100,
      sinceTime: now - 60_000,
    });
    expect(parseContainerLogsQuery(new URLSearchParams('sinceTime=2026-12-02T09:00:00Z'), now)).toEqual({ follow: false, previous: false, timestamps: false, sinceTime: Date.parse('2026-12-02T09:00:00Z') });
    expect(parseContainerLogsQuery(new URLSearchParams('tailLines=0'), now)).toMatchObject({ tailLines: 0 });
  });

  it.each([
    ['tailLines=-1', 'tailLines: invalid value -1: must be greater than or equal to 0'],
    ['tailLines=x', 'tailLines: invalid value "x": must be an integer'],
    ['limitBytes=0', 'limitBytes: invalid value 0: must be greater than or equal to 1'],
    ['sinceSeconds=0', 'sinceSeconds: invalid value 0: must be greater than or equal to 1'],
    ['sinceSeconds=5&sinceTime=2026-12-02T09:00:00Z', 'at most one of sinceTime or sinceSeconds may be specified'],
    ['sinceTime=yesterday', 'sinceTime: invalid value "yesterday": must be an RFC3339 time'],
  ])('%s → 400 "%s"', (q, message) => {
    expect(parseContainerLogsQuery(new URLSearchParams(q), now)).toBe(message);
  });

  it('exec takes one command parameter per word; /run splits cmd on spaces', () => {
    expect(execCommand(new URLSearchParams('command=sh&command=-c&command=echo+a+b'))).toEqual(['sh', '-c', 'echo a b']);
    expect(execCommand(new URLSearchParams('stdout=1'))).toBe('you must specify at least one command for the container');
    expect(runCommand(new URLSearchParams('cmd=cat+/etc/hostname'))).toEqual(['cat', '/etc/hostname']);
    expect(runCommand(new URLSearchParams(''))).toBe('cmd: a command is required');
  });
});

describe('which sandbox and container', () => {
  const sandbox = (id: string, createdAt: number, state: PodSandbox['state']): PodSandbox => ({ id, createdAt, state, metadata: { name: 'web', namespace: 'ns', uid: 'u', attempt: 0 }, labels: {}, annotations: {} });
  const container = (id: string, attempt: number, createdAt: number): Container => ({
    id,
    podSandboxId: 's',
    metadata: { name: 'c', attempt },
    image: 'busybox',
    imageRef: 'sha256:1',
    state: 'CONTAINER_EXITED',
    createdAt,
    labels: {},
    annotations: {},
  });

  it('prefers the ready sandbox, else the newest', () => {
    expect(pickSandbox([sandbox('old', 1, 'SANDBOX_READY'), sandbox('new', 2, 'SANDBOX_NOTREADY')])?.id).toBe('old');
    expect(pickSandbox([sandbox('old', 1, 'SANDBOX_NOTREADY'), sandbox('new', 2, 'SANDBOX_NOTREADY')])?.id).toBe('new');
    expect(pickSandbox([])).toBeUndefined();
  });

  it('the current container is the highest attempt, the previous the one before it', () => {
    const list = [container('a0', 0, 10), container('a2', 2, 30), container('a1', 1, 20)];
    expect(pickContainer(list, false)?.id).toBe('a2');
    expect(pickContainer(list, true)?.id).toBe('a1');
    expect(pickContainer([container('a0', 0, 10)], true)).toBeUndefined();
  });
});

describe('client identity on the TLS port', () => {
  const socket = (cert: object, authorized: boolean, authorizationError?: string) => ({ getPeerCertificate: () => cert as never, authorized, authorizationError: authorizationError as never });
  it('is the certificate\'s CN when the client CA signed it; no certificate or another CA is refused', () => {
    expect(clientIdentity(socket({ subject: { CN: 'kube-apiserver-kubelet-client' } }, true))).toEqual({ user: 'kube-apiserver-kubelet-client' });
    expect(clientIdentity(socket({}, false))).toEqual({ refused: 'no client certificate' });
    expect(clientIdentity(socket({ subject: { CN: 'mallory' } }, false, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toEqual({ refused: 'client certificate not accepted: UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });
});
