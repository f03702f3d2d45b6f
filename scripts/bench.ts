// npm run bench -- ssh-steps | lab-hosts | verify: run one benchmark; its last output line is a JSON object.
import { main } from '../src/cli/main.js';
import { runBench } from '../bench/index.js';

await main(() => runBench(process.argv.slice(2)));
