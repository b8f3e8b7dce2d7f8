import { accessSync, constants } from 'node:fs';
import { durationFlag, FlagError, isIP, Option, portFlag, type Command, type FlagWarn } from '@pilot/common';

/** What the kubelet API server is configured with, validated (kubelet 1.32's flag names). */
export interface KubeletServerConfig {
  /** Address of the HTTPS port. */
  address: string;
  /** The HTTPS port (10250); 0 = not served. */
  port: number;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  /** Client certificates signed by this CA are the only way in. */
  clientCaFile: string;
  healthzBindAddress: string;
  /** Plain-HTTP /healthz (and /metrics); 0 = off. */
  healthzPort: number;
  /** A streaming session (exec, attach, port-forward) with no traffic for this long is closed. */
  streamingConnectionIdleTimeoutMs: number;
  /** How long a client has to open the streams of a session (the kubelet's constant 30 s). */
  streamCreationTimeoutMs: number;
}

export interface RawServerFlags {
  address?: string;
  port?: string;
  readOnlyPort?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  healthzBindAddress?: string;
  healthzPort?: string;
  streamingConnectionIdleTimeout?: string;
}

/** kubelet defaults: 10250, 10248 on loopback, 4h idle streams. */
export const SERVER_DEFAULTS = { address: '0.0.0.0', port: '10250', healthzBindAddress: '127.0.0.1', healthzPort: '10248', streamingConnectionIdleTimeout: '4h' } as const;

const STREAM_CREATION_TIMEOUT_MS = 30_000;

function readable(flag: string, path: string | undefined, why: string): string {
  if (!path) throw new FlagError(flag, `missing: ${why}`);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new FlagError(flag, `${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return path;
}

/** Validates the server's flags; every problem is a FlagError naming the flag. */
export function resolveServerConfig(f: RawServerFlags, warn: FlagWarn = () => undefined): KubeletServerConfig {
  const address = f.address ?? SERVER_DEFAULTS.address;
  if (!isIP(address)) throw new FlagError('address', `"${address}" is not an IP address`);
  const port = portFlag('port', f.port ?? SERVER_DEFAULTS.port);
  if (f.readOnlyPort !== undefined && portFlag('read-only-port', f.readOnlyPort) !== 0)
    throw new FlagError('read-only-port', `${f.readOnlyPort}: the unauthenticated read-only port is not served; 0 is the only value`);
  const healthzBindAddress = f.healthzBindAddress ?? SERVER_DEFAULTS.healthzBindAddress;
  if (!isIP(healthzBindAddress)) throw new FlagError('healthz-bind-address', `"${healthzBindAddress}" is not an IP address`);
  const why = 'the kubelet API on --port is served only over TLS to clients with a certificate from --client-ca-file (or --port 0)';
  const tls = port === 0 ? { tlsCertFile: f.tlsCertFile ?? '', tlsPrivateKeyFile: f.tlsPrivateKeyFile ?? '', clientCaFile: f.clientCaFile ?? '' } : {
    tlsCertFile: readable('tls-cert-file', f.tlsCertFile, why),
    tlsPrivateKeyFile: readable('tls-private-key-file', f.tlsPrivateKeyFile, why),
    clientCaFile: readable('client-ca-file', f.clientCaFile, why),
  };
  return {
    address,
    port,
    ...tls,
    healthzBindAddress,
    healthzPort: portFlag('healthz-port', f.healthzPort ?? SERVER_DEFAULTS.healthzPort),
    streamingConnectionIdleTimeoutMs: durationFlag('streaming-connection-idle-timeout', f.streamingConnectionIdleTimeout ?? SERVER_DEFAULTS.streamingConnectionIdleTimeout, 0, 7 * 86_400_000, { warn }),
    streamCreationTimeoutMs: STREAM_CREATION_TIMEOUT_MS,
  };
}

/** Adds the server's flags to a command (`pilot kubelet` adds them to its own). */
export function addServerFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--address <ip>', 'address of the kubelet API (HTTPS)').default(SERVER_DEFAULTS.address))
    .addOption(new Option('--port <port>', 'port of the kubelet API: TLS only, client certificates from --client-ca-file (0 = off)').default(SERVER_DEFAULTS.port))
    .addOption(new Option('--read-only-port <port>', 'the unauthenticated read-only port; never served, only 0 is accepted').default('0'))
    .addOption(new Option('--tls-cert-file <path>', 'serving certificate of the kubelet API (PEM)'))
    .addOption(new Option('--tls-private-key-file <path>', 'serving key of the kubelet API (PEM)'))
    .addOption(new Option('--client-ca-file <path>', 'CA whose client certificates may use the kubelet API (the apiserver holds one)'))
    .addOption(new Option('--healthz-bind-address <ip>', 'address of the plain /healthz port').default(SERVER_DEFAULTS.healthzBindAddress))
    .addOption(new Option('--healthz-port <port>', 'plain-HTTP /healthz and /metrics (0 = off)').default(SERVER_DEFAULTS.healthzPort))
    .addOption(
      new Option('--streaming-connection-idle-timeout <duration>', 'exec, attach and port-forward sessions with no traffic for this long are closed (0 = never)').default(
        SERVER_DEFAULTS.streamingConnectionIdleTimeout,
      ),
    );
}
