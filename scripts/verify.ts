// npm run verify: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { verifyCli } from '../src/cli/commands.js';

await main(() => verifyCli(process.argv));
