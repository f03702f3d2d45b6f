// A lab:up in its own process for the Ctrl-C test: the real SIGINT handling of the CLI (withCtrlC) around labUp
// with a test runbook. Prints the engine's events as JSON lines; exits 130 when interrupted.
import { withCtrlC } from '../../src/cli/interrupt.js';
import { Emitter } from '../../src/output/events.js';
import { labUp } from '../../src/lab/ops.js';

const events = new Emitter().on((e) => process.stdout.write(JSON.stringify(e) + '\n'));
const recap = await withCtrlC(
  (signal) => labUp({ labFile: process.env.FLT_LAB!, name: process.env.FLT_NAME!, rolesDir: process.env.FLT_ROLES!, events, signal }),
  () => undefined,
);
process.stdout.write(JSON.stringify({ event: 'done', interrupted: !!recap.interrupted, failedStep: recap.failedStep, message: recap.error?.message }) + '\n');
process.exitCode = recap.interrupted ? 130 : recap.failed ? 1 : 0;
