import { PassThrough } from 'node:stream';
import { FakeRuntime } from '../../../src/kubelet/runtime/fake.js';
import { ImagePullError, NotFoundError, type PodSandboxConfig } from '../../../src/kubelet/runtime/runtime.js';

const sandbox: PodSandboxConfig = { metadata: { name: 'web', namespace: 'default', uid: 'u1', attempt: 0 }, labels: { 'io.kubernetes.pod.uid': 'u1' } };

describe('the fake runtime the kubelet’s unit tests use', () => {
  it('runs a pod through CRI’s states and records the calls in order', async () => {
    const rt = new FakeRuntime('10.1.5', ['registry.k8s.io/pause:3.10', 'busybox']);
    const sid = await rt.runPodSandbox(sandbox);
    expect((await rt.podSandboxStatus(sid)).network.ip).toBe('10.1.5.2');
    const cid = await rt.createContainer(sid, { metadata: { name: 'app', attempt: 0 }, image: 'busybox' }, sandbox);
    expect((await rt.containerStatus(cid)).state).toBe('CONTAINER_CREATED');
    await rt.startContainer(cid);
    expect((await rt.listContainers({ podSandboxId: sid, state: 'CONTAINER_RUNNING' })).map((c) => c.id)).toEqual([cid]);
    rt.exit(cid, 1);
    expect(await rt.containerStatus(cid)).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 1, reason: 'Error' });
    await rt.removePodSandbox(sid);
    await expect(rt.containerStatus(cid)).rejects.toBeInstanceOf(NotFoundError);
    expect(rt.calls.map((c) => c.verb)).toEqual(['runPodSandbox', 'podSandboxStatus', 'createContainer', 'containerStatus', 'startContainer', 'listContainers', 'containerStatus', 'removePodSandbox', 'containerStatus']);
  });

  it('injects the failures the kubelet must report', async () => {
    const rt = new FakeRuntime();
    rt.failPull('nope');
    await expect(rt.pullImage('nope')).rejects.toMatchObject({ reason: 'ErrImagePull' });
    await expect(rt.pullImage('Bad Name')).rejects.toBeInstanceOf(ImagePullError);
    await rt.pullImage('busybox');
    rt.failStart((c) => (c.command?.[0] === 'nope' ? 'exec: "nope": executable file not found in $PATH' : undefined));
    const sid = await rt.runPodSandbox(sandbox);
    const cid = await rt.createContainer(sid, { metadata: { name: 'app', attempt: 0 }, image: 'busybox', command: ['nope'] }, sandbox);
    await expect(rt.startContainer(cid)).rejects.toThrow('executable file not found');
    expect(await rt.containerStatus(cid)).toMatchObject({ state: 'CONTAINER_EXITED', reason: 'ContainerCannotRun', exitCode: 127 });
    rt.down = true;
    await expect(rt.listPodSandbox()).rejects.toThrow('cannot reach dockerd');
  });

  it('serves logs with tail and timestamps, and exec through the handler', async () => {
    const rt = new FakeRuntime('10.1.5', ['registry.k8s.io/pause:3.10', 'busybox']);
    const sid = await rt.runPodSandbox(sandbox);
    const cid = await rt.createContainer(sid, { metadata: { name: 'app', attempt: 0 }, image: 'busybox' }, sandbox);
    await rt.startContainer(cid);
    rt.now = () => Date.parse('2026-12-02T05:00:00Z');
    rt.appendLog(cid, 'one');
    rt.appendLog(cid, 'two', 'stderr');
    const out = new PassThrough();
    await rt.logs(cid, { stdout: out, tailLines: 1, timestamps: true });
    expect(out.read()?.toString()).toBe('2026-12-02T05:00:00.000Z two\n');
    rt.execHandler = (_id, cmd) => ({ stdout: Buffer.from(cmd.join(' ')), stderr: Buffer.alloc(0), exitCode: 7 });
    expect(await rt.execSync(cid, ['hostname'], 1000)).toMatchObject({ exitCode: 7 });
  });
});
