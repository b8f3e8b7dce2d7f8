import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goArch, osImageFromOsRelease, readNodeSystemInfo } from '../../src/kubelet/system-info.js';

describe('node system info', () => {
  it.each([
    ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n', 'Debian GNU/Linux 12 (bookworm)'],
    ["NAME=Alpine\nPRETTY_NAME='Alpine Linux v3.20'\n", 'Alpine Linux v3.20'],
    ['PRETTY_NAME=Plain\n', 'Plain'],
    ['PRETTY_NAME="say \\"hi\\""\n', 'say "hi"'],
    ['NAME=Nothing\n', 'Linux'],
    ['', 'Linux'],
  ])('takes the OS image from os-release PRETTY_NAME (%j)', (text, want) => {
    expect(osImageFromOsRelease(text)).toBe(want);
  });

  it('spells the architecture as GOARCH does', () => {
    expect(goArch('x64')).toBe('amd64');
    expect(goArch('arm64')).toBe('arm64');
    expect(goArch('mips')).toBe('mips');
  });

  it('reads machine ID, boot ID and OS image from their files; a missing file is an empty field', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sysinfo-'));
    writeFileSync(join(d, 'os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n');
    writeFileSync(join(d, 'machine-id'), '0123456789abcdef0123456789abcdef\n');
    writeFileSync(join(d, 'boot_id'), '5f0e0a5e-1111-2222-3333-444455556666\n');
    const info = await readNodeSystemInfo({
      containerRuntimeVersion: 'docker://20.10.24',
      osReleasePath: join(d, 'os-release'),
      machineIdPath: join(d, 'machine-id'),
      bootIdPath: join(d, 'boot_id'),
      productUuidPath: join(d, 'absent'),
    });
    expect(info).toMatchObject({
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      machineID: '0123456789abcdef0123456789abcdef',
      bootID: '5f0e0a5e-1111-2222-3333-444455556666',
      systemUUID: '',
      containerRuntimeVersion: 'docker://20.10.24',
      kubeletVersion: 'v1.32.0-pilot',
      kubeProxyVersion: 'v1.32.0-pilot',
      operatingSystem: 'linux',
    });
    expect(info.kernelVersion).not.toBe('');
  });
});
