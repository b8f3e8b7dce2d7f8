import { main } from '@pilot/common';
import { runSvcproxy } from '../cli.js';

await main('svcproxy', () => runSvcproxy(process.argv.slice(2)));
