// npm run lab:up: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { labUpCli } from '../src/cli/commands.js';

await main(() => labUpCli(process.argv));
