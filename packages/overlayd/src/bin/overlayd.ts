import { main } from '@pilot/common';
import { runOverlayd } from '../cli.js';

await main('overlayd', () => runOverlayd(process.argv.slice(2)));
