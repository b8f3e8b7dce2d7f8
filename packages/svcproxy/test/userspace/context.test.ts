import { captureLog } from './capture-log.js';
import { rateLimitedWarn, splitEndpoint } from '../../src/userspace/context.js';

describe('rateLimitedWarn', () => {
  it('logs the first occurrence at once and summarises repeats in the next line', () => {
    const { log, lines } = captureLog();
    let now = 0;
    const warn = rateLimitedWarn(log, 5_000, () => now);
    const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' });
    warn('service a/b: accept failed', emfile);
    for (let i = 0; i < 100; i++) warn('service a/b: accept failed', emfile);
    warn('service c/d: accept failed', emfile); // another service is its own kind
    now = 5_000;
    warn('service a/b: accept failed', emfile);
    expect(lines.map((l) => [l.msg, l.suppressed])).toEqual([
      ['service a/b: accept failed: accept EMFILE', 0],
      ['service c/d: accept failed: accept EMFILE', 0],
      ['service a/b: accept failed: accept EMFILE', 100],
    ]);
    expect(lines[0]).toMatchObject({ component: 't', code: 'EMFILE', level: 40 });
  });
});

describe('splitEndpoint', () => {
  it('splits ip:port', () => {
    expect(splitEndpoint('10.1.2.3:8080')).toEqual({ host: '10.1.2.3', port: 8080 });
  });
});
