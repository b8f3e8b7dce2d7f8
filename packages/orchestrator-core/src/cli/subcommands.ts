/**
 * `pilot <subcommand>`: a table of subcommands, each loaded only when used so
 * `pilot apiserver` does not pay for the kubelet's imports. Adding a component
 * is adding a row: a module exporting `run(argv): Promise<number | void>`.
 */

export interface Subcommand {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number | void> }>;
}

export const SUBCOMMANDS: Record<string, Subcommand> = {
  apiserver: { summary: 'Kubernetes-shaped API server over etcd', load: () => import('./apiserver.js') },
};
