/**
 * `deno task fuzz`: the path-protection property test (tests/proxy/
 * path_protection_property_test.ts) with many more runs than the suite's fixed seed, each
 * round with a new seed, until the time is up. A failure prints its seed (rerun it with
 * ORYGATE_FUZZ_SEED=<seed>) and ends the run with exit 1.
 *
 * ```sh
 * deno task fuzz                        # 10 minutes
 * deno task fuzz --minutes 1 --runs 2000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    minutes: { type: "string", default: "10" },
    runs: { type: "string", default: "5000" },
  },
});
const minutes = Number(values.minutes);
const runs = Number(values.runs);
if (!(minutes > 0) || !(runs > 0)) {
  console.error("fuzz: --minutes and --runs take positive numbers");
  Deno.exit(2);
}
const test = new URL("../tests/proxy/path_protection_property_test.ts", import.meta.url).pathname;
const until = Date.now() + minutes * 60_000;
let rounds = 0;
while (Date.now() < until) {
  const seed = Math.floor(Math.random() * 2 ** 31);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", test],
    env: { ORYGATE_FUZZ_RUNS: String(runs), ORYGATE_FUZZ_SEED: String(seed), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  rounds++;
  const counts = /path protection: (\{[^}]*\})/.exec(text)?.[1] ?? "";
  console.log(
    `round ${rounds}: seed ${seed}, ${runs} runs ${counts} ${out.success ? "ok" : "FAILED"}`,
  );
  if (!out.success) {
    console.log(text);
    console.log(`fuzz: failed at seed ${seed}; rerun with ORYGATE_FUZZ_SEED=${seed}`);
    Deno.exit(1);
  }
}
console.log(`fuzz: ${rounds} rounds × ${runs} runs, no counterexample in ${minutes} min`);
