/**
 * The `orygate` command. Run with `deno run -A src/main.ts proxy <application-url>`.
 *
 * @module
 */
import { runCli } from "./cli/run.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
