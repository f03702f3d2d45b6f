// npm run lab:down: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { labLifecycleCli } from '../src/cli/commands.js';

await main(() => labLifecycleCli('down', process.argv));
