import { prefsrcFromRouteGet } from '../../src/userspace/listen-ip.js';

describe('prefsrcFromRouteGet', () => {
  it('takes the source address of the route the kernel picked', () => {
    expect(prefsrcFromRouteGet('[{"dst":"192.0.2.1","gateway":"172.30.0.2","dev":"eth0","prefsrc":"172.30.0.11","flags":[],"uid":0,"cache":[]}]')).toBe('172.30.0.11');
  });

  it('says what is wrong and which flag to use instead', () => {
    expect(() => prefsrcFromRouteGet('[{"dst":"192.0.2.1","dev":"eth0"}]')).toThrow(
      'userspace proxy listen address: no source address on the default route (dev eth0); pass --bind-address',
    );
    expect(() => prefsrcFromRouteGet('[{"prefsrc":"127.0.0.1","dev":"lo"}]')).toThrow(/is loopback/);
    expect(() => prefsrcFromRouteGet('garbage')).toThrow(/cannot parse "ip route get" output: garbage/);
  });
});
