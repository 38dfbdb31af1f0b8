/**
 * The gate's closing count, `orygate: N passed, N failed`, always adds up to the number of tests
 * the suite declares: a test that did not pass — failed, ignored, or never run because its
 * module died while loading — counts as failed. `deno test` alone counts a module that dies as
 * one failure and its tests not at all.
 *
 * @example
 * ```ts ignore
 * const declared = await declaredTests(new URL("../tests/", import.meta.url));
 * const { passed, failed, notes } = closingCount(total(declared), denoTestOutput, exitCode);
 * ```
 *
 * @module
 */

/** The files `deno test <dir>` runs: `*_test.ts`, `*.test.ts`, `test.ts` (and js/tsx/…). */
export const TEST_FILE = /(?:^|[_.])test\.(?:ts|tsx|mts|js|mjs|jsx)$/;

/**
 * How many tests a module declares: its `Deno.test(` calls (and `.ignore`/`.only`) that begin
 * a line. The suite declares each test that way, none in loops (a test checks that this count
 * matches what `deno test` runs).
 */
export function countDeclaredTests(source: string): number {
  return source.match(/^[ \t]*Deno\.test(?:\.ignore|\.only)?\(/gm)?.length ?? 0;
}

/** Declared tests per test module under `dir`, keyed by the path relative to `dir`. */
export async function declaredTests(dir: URL): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const walk = async (sub: string) => {
    for await (const entry of Deno.readDir(new URL(sub, dir))) {
      const path = `${sub}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (entry.isFile && TEST_FILE.test(entry.name)) {
        found.set(path, countDeclaredTests(await Deno.readTextFile(new URL(path, dir))));
      }
    }
  };
  await walk("");
  return new Map([...found].sort(([a], [b]) => a.localeCompare(b)));
}

/** The sum of {@linkcode declaredTests}. */
export function total(declared: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const n of declared.values()) sum += n;
  return sum;
}

/** What the gate reports. */
export interface ClosingCount {
  readonly passed: number;
  /** Every declared test that did not pass. */
  readonly failed: number;
  /** Why the count differs from `deno test`'s own, one line each. */
  readonly notes: string[];
}

/**
 * The count from `deno test`'s output (uncoloured) and exit code, for `declared` tests. Passed
 * tests are deno's; everything else declared is failed, so the two add up to `declared` (unless
 * deno ran more tests than were declared: then it is never fewer failures than deno saw). The
 * gate passes only when nothing failed and deno exited with 0.
 */
export function closingCount(declared: number, output: string, code: number): ClosingCount {
  const summary =
    /(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/
      .exec(output);
  const passed = Number(summary?.[1] ?? 0);
  const denoFailed = Number(summary?.[2] ?? 0);
  const ignored = Number(summary?.[3] ?? 0);
  const notes: string[] = [];
  const dead = [...output.matchAll(/^Uncaught error from (\S+) FAILED$/gm)].map((m) => m[1]);
  for (const module of new Set(dead)) {
    notes.push(`${module} died (an uncaught error): its tests that did not run count as failed`);
  }
  if (ignored > 0) notes.push(`${ignored} ignored test(s) count as failed: nothing is skipped`);
  if (summary === null) notes.push(`deno test printed no summary (exit ${code})`);
  const failed = Math.max(declared - passed, denoFailed - dead.length, 0);
  if (passed + failed > declared && declared > 0) {
    notes.push(
      `deno test ran ${passed + failed} tests, ${declared} are declared: a test is declared in ` +
        "a way scripts/_test_count.ts does not see",
    );
  }
  if (code !== 0 && failed === 0 && summary !== null) {
    notes.push(`deno test exited with ${code} although every test passed (see above)`);
  }
  return { passed, failed, notes };
}
