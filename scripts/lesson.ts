// npm run lesson: parse flags, call the library, set process.exitCode.
import { main } from '../src/cli/main.js';
import { lessonCli } from '../src/cli/lesson.js';

await main(() => lessonCli(process.argv));
