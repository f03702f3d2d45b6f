// npm run lab:snapshot -- save|restore|list [NAME]: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { labSnapshotCli } from '../src/cli/commands.js';

await main(() => labSnapshotCli(process.argv));
