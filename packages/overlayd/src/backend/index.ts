import { ConfigError, type BackendJson } from '../config.js';
import type { Backend, BackendDeps, BackendFactory } from './backend.js';
import { newHostGwBackend } from './hostgw.js';
import { newVxlanBackend } from './vxlan.js';

/**
 * The backends by their Backend.Type. Adding a backend is adding its file
 * beside these and a row here.
 */
const BACKENDS: Readonly<Record<string, BackendFactory>> = {
  vxlan: newVxlanBackend,
  'host-gw': newHostGwBackend,
};

/** A config without Backend.Type means vxlan (flannel's documentation; its code says udp, which we do not build). */
export const DEFAULT_BACKEND = 'vxlan';

export const backendTypes = (): string[] => Object.keys(BACKENDS);

/** The backend the config's Backend object names, made from its settings; a ConfigError names what is wrong. */
export function createBackend(json: BackendJson, deps: BackendDeps): Backend {
  const type = json.Type ?? DEFAULT_BACKEND;
  const make = typeof type === 'string' && Object.hasOwn(BACKENDS, type) ? BACKENDS[type] : undefined;
  if (!make) throw new ConfigError(`unknown Backend.Type ${JSON.stringify(type)} (supported: ${backendTypes().join(', ')})`);
  return make(json, deps);
}
