import { main } from '@pilot/common';
import { runDnsd } from '../cli.js';

await main('dnsd', () => runDnsd(process.argv.slice(2)));
