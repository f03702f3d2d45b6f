// npm run lab:status: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { labStatusCli } from '../src/cli/commands.js';

await main(() => labStatusCli(process.argv));
