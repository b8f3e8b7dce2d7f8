import { credentialsFor, normalizeImage, pullAuth } from '../../../src/kubelet/runtime/images.js';

describe('image references', () => {
  it.each([
    ['busybox', 'busybox:latest'],
    ['guest/mynode', 'guest/mynode:latest'],
    ['registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.10'],
    ['172.30.1.2:5000/nope', '172.30.1.2:5000/nope:latest'],
    ['localhost/app:v1', 'localhost/app:v1'],
    [`busybox@sha256:${'a'.repeat(64)}`, `busybox@sha256:${'a'.repeat(64)}`],
  ])('%s → %s', (ref, want) => {
    expect(normalizeImage(ref)).toBe(want);
  });

  it.each(['Busybox', 'bad image', 'a//b', ':latest', 'x:'])('refuses %j', (ref) => {
    expect(normalizeImage(ref)).toBeUndefined();
  });
});

describe('imagePullSecrets credentials', () => {
  const auth = Buffer.from('alice:s3cret').toString('base64');
  const configs = [
    { auths: { 'https://index.docker.io/v1/': { auth } } },
    { auths: { 'reg.example:5000': { username: 'bob', password: 'pw' }, 'reg.example:5000/team': { username: 'team', password: 'tpw' } } },
  ];

  it('matches Docker Hub images to Docker Hub’s keys', () => {
    expect(credentialsFor('guest/mynode', configs)).toMatchObject({ auth, serverAddress: 'https://index.docker.io/v1/' });
  });

  it('matches by registry host, the longest path prefix winning', () => {
    expect(credentialsFor('reg.example:5000/app', configs)).toMatchObject({ username: 'bob' });
    expect(credentialsFor('reg.example:5000/team/app:v1', configs)).toMatchObject({ username: 'team' });
    expect(credentialsFor('other.example/app', configs)).toBeUndefined();
  });

  it('reads legacy .dockercfg secrets and decodes auth for Docker', () => {
    const legacy = [{ 'reg.example': { auth } }];
    const a = credentialsFor('reg.example/x', legacy)!;
    expect(pullAuth(a)).toEqual({ username: 'alice', password: 's3cret', serveraddress: 'reg.example' });
  });
});
