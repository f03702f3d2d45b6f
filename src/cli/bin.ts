/** The one entry point: `tsx src/cli/bin.ts NAME [flags]` (scripts/run.sh, behind every npm script). */
import { main } from './main.js';
import { dispatch } from './table.js';

await main(() => dispatch(process.argv.slice(2)));
