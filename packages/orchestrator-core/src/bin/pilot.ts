import { main } from '@pilot/common';
import { dispatch } from '../cli/dispatch.js';

/** The `pilot` dispatcher (hyperkube-like): `pilot <component> [flags]`. */
await main('pilot', () => dispatch(process.argv.slice(2)));
