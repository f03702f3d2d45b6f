/** Ctrl-C for long commands: the first SIGINT aborts (the engine stops the running step's remote commands and ends
 * the run, resumable); a second one quits at once. */
export async function withCtrlC<T>(fn: (signal: AbortSignal) => Promise<T>, say: (m: string) => void = (m) => process.stderr.write(m)): Promise<T> {
  const abort = new AbortController();
  const onInt = () => {
    if (abort.signal.aborted) process.exit(130);
    say("\ninterrupted: stopping the running step's remote commands (Ctrl-C again quits at once)\n");
    abort.abort();
  };
  process.on('SIGINT', onInt);
  try {
    return await fn(abort.signal);
  } finally {
    process.off('SIGINT', onInt);
  }
}
