import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile, writeFileAtomic } from '../src/atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-atomic-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates missing directories, writes the content and leaves no temp file', async () => {
    const path = join(dir, 'run', 'flannel', 'subnet.env');
    await writeFileAtomic(path, 'FLANNEL_SUBNET=10.1.5.1/24\n');
    expect(await readFile(path, 'utf8')).toBe('FLANNEL_SUBNET=10.1.5.1/24\n');
    expect(await readdir(join(dir, 'run', 'flannel'))).toEqual(['subnet.env']);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
  });

  it('replaces an existing file whole', async () => {
    const path = join(dir, 'f');
    await writeFileAtomic(path, 'old content that is longer');
    await writeFileAtomic(path, 'new', 0o600);
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines as subnet.env and docker option files write them', () => {
    const text = '# written by overlayd\nFLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.5.1/24\nDOCKER_OPTS=" --bip=10.1.5.1/24 --mtu=1450"\nnot an assignment\n';
    expect(parseEnvFile(text)).toEqual({
      FLANNEL_NETWORK: '10.1.0.0/16',
      FLANNEL_SUBNET: '10.1.5.1/24',
      DOCKER_OPTS: ' --bip=10.1.5.1/24 --mtu=1450',
    });
  });
});
