import { FatalError } from '@pilot/common';
import { runDnsd } from '@pilot/dnsd';
import { runOverlayd } from '@pilot/overlayd';
import { runSvcproxy } from '@pilot/svcproxy';
import { dispatch, pilotHelp, SUBCOMMANDS } from '../src/index.js';

describe('the pilot dispatcher', () => {
  it('has a row for the apiserver and every network daemon', () => {
    expect(Object.keys(SUBCOMMANDS)).toEqual(expect.arrayContaining(['apiserver', 'overlayd', 'svcproxy', 'dnsd']));
  });

  it("runs each network daemon's own command line, the same one its bin runs", async () => {
    expect((await SUBCOMMANDS.overlayd!.load()).run).toBe(runOverlayd);
    expect((await SUBCOMMANDS.svcproxy!.load()).run).toBe(runSvcproxy);
    expect((await SUBCOMMANDS.dnsd!.load()).run).toBe(runDnsd);
  });

  it('lists every subcommand with its summary in --help', async () => {
    let printed = '';
    expect(await dispatch(['--help'], (t) => (printed += t))).toBe(0);
    expect(printed).toBe(pilotHelp());
    for (const [name, sub] of Object.entries(SUBCOMMANDS)) expect(printed).toMatch(new RegExp(`^\\s+${name}\\s+${sub.summary.slice(0, 20).replace(/[()]/g, '\\$&')}`, 'm'));
  });

  it('passes the rest of argv to the subcommand, whose flag errors come back as one line', async () => {
    await expect(dispatch(['svcproxy', '--proxy-mode', 'ipvs'])).rejects.toThrow(/proxy-mode.*"ipvs" is not a proxy mode/);
    await expect(dispatch(['overlayd', '--healthz-port', 'http'])).rejects.toThrow(FatalError);
    await expect(dispatch(['dnsd', '--ttl', 'soon'])).rejects.toThrow('--ttl=soon: want whole seconds 0..3600');
  });

  it('names the known commands for an unknown one', async () => {
    await expect(dispatch(['kubelett'])).rejects.toThrow(/unknown command "kubelett" \(known: apiserver, overlayd, svcproxy, dnsd/);
  });
});
