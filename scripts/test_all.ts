/**
 * The one gate (`deno task check`, `.ci/run`): make sure every program the tests run is
 * installed (one line for each missing one, naming its Debian package), format, lint,
 * type-check, build Ory Kratos once (or take it from the cache), then run every test: unit, CLI
 * integration and end-to-end. Missing prerequisites fail loudly; nothing is skipped.
 *
 * Ends with one line, `orygate: N passed, N failed`, whose two numbers add up to the tests the
 * suite declares (`scripts/_test_count.ts`): a test that did not pass — failed, ignored, in a
 * module that died while loading, or not run because the gate stopped before the tests — is a
 * failed one.
 *
 * @module
 */
import { missingTools, requiredTools } from "./_required_tools.ts";
import { closingCount, declaredTests, total } from "./_test_count.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const deno = Deno.execPath();
const declared = total(await declaredTests(new URL("../tests/", import.meta.url)));

/** Runs a command from the project root, echoing its output; returns its exit code and stdout. */
async function run(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; text: string }> {
  console.error(`\n== ${name}: ${[cmd, ...args].join(" ")}`);
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    await Deno.stdout.write(chunk);
  }
  return { code: (await child.status).code, text };
}

/** Ends the gate before any test ran: every declared test counts as failed. */
function stopBeforeTests(why: string): never {
  console.error(`\n${why}; no test ran`);
  console.log(`orygate: 0 passed, ${declared} failed`);
  Deno.exit(1);
}

/** Like {@linkcode run}, but a failure ends the gate. */
async function step(name: string, cmd: string, args: string[]): Promise<string> {
  const { code, text } = await run(name, cmd, args);
  if (code !== 0) stopBeforeTests(`${name} failed (exit ${code})`);
  return text;
}

const cached = await new Deno.Command("bash", {
  args: ["scripts/kratos/build.sh", "--cached"],
  cwd: ROOT,
  stdout: "null",
  stderr: "null",
}).output().then((out) => out.success, () => false);
const missing = await missingTools(requiredTools({ kratosBuilt: cached }));
if (missing.length > 0) {
  for (const line of missing) console.error(line);
  stopBeforeTests(`${missing.length} program(s) the tests run are missing (see above)`);
}

await step("format", deno, ["fmt", "--check"]);
await step("lint", deno, ["lint"]);
await step("type-check", deno, ["check", "src/", "tests/", "scripts/", "examples/"]);

const kratos =
  (await step("Ory Kratos (build once, then cached)", "bash", ["scripts/kratos/build.sh"]))
    .trim()
    .split("\n").at(-1)!;

const { code, text: out } = await run(
  `tests (Kratos: ${kratos})`,
  deno,
  ["test", "-A", "--parallel", "tests/"],
  { KRATOS_BIN: kratos, NO_COLOR: "1" },
);
const { passed, failed, notes } = closingCount(declared, out, code);
for (const note of notes) console.error(`note: ${note}`);
console.log(`\norygate: ${passed} passed, ${failed} failed`);
Deno.exit(code === 0 && failed === 0 && passed > 0 ? 0 : 1);
