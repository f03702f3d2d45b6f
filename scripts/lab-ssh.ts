// npm run lab:ssh: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { labSshCli } from '../src/cli/commands.js';

await main(() => labSshCli(process.argv));
