/**
 * Debian's docker-registry (distribution 2.8) as pilot runs it: over an
 * image store's registry root, plain HTTP on one address, read-only unless
 * told (a builder pushes into a writable one). `pilot up` serves its images
 * this way to its dockerd (the Docker Hub mirror); the netns harness to every
 * dockerd of a run.
 */

export function registryConfig(o: { rootDirectory: string; address: string; readOnly: boolean }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${o.rootDirectory}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    '    readonly:',
    `      enabled: ${o.readOnly}`,
    'http:',
    `  addr: ${o.address}`,
    '',
  ].join('\n');
}

export function registryArgv(configFile: string): string[] {
  return ['docker-registry', 'serve', configFile];
}
