/**
 * The `orygate` command. Run with `deno run -A src/main.ts proxy <application-url>`.
 *
 * @module
 */
import { runCli, waitForSignal } from "./cli/run.ts";
import { STDIN_LIFELINE_ENV, stdinClosed } from "./cli/stdin_lifeline.ts";
import { isOrygateWorker, runWorker } from "./cli/worker_entry.ts";

if (import.meta.main && isOrygateWorker()) {
  // `--workers`: this thread runs this same program (its main module, or the bundle it was
  // built into, so nothing else needs shipping), started by the parent to serve its share.
  runWorker();
} else if (import.meta.main) {
  // Under the npm launcher, its ending is a stop too. The flag is not passed on to the programs
  // orygate runs (browser, certutil).
  const lifeline = Deno.env.get(STDIN_LIFELINE_ENV) === "1";
  Deno.env.delete(STDIN_LIFELINE_ENV);
  const stop = lifeline ? () => Promise.race([waitForSignal(), stdinClosed()]) : undefined;
  Deno.exit(await runCli(Deno.args, { stop, mainModule: import.meta.url }));
}
