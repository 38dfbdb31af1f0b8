/**
 * The one gate (`deno task check`, `npm test`, `.ci/run`): format, lint, type-check, make sure
 * the end-to-end prerequisites exist (Ory Kratos built or cached, Chromium installed), then run
 * every test: unit, CLI integration and end-to-end. Missing prerequisites fail loudly; nothing
 * is skipped. Ends with one line `orygate: N passed, N failed`.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;
const deno = Deno.execPath();

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

/** Like {@linkcode run}, but a failure ends the gate with one failed count. */
async function step(name: string, cmd: string, args: string[]): Promise<string> {
  const { code, text } = await run(name, cmd, args);
  if (code !== 0) {
    console.error(`\n${name} failed (exit ${code})`);
    console.log("orygate: 0 passed, 1 failed");
    Deno.exit(1);
  }
  return text;
}

await step("format", deno, ["fmt", "--check"]);
await step("lint", deno, ["lint"]);
await step("type-check", deno, ["check", "src/", "tests/", "scripts/", "examples/"]);

const kratos =
  (await step("Ory Kratos (build once, then cached)", "bash", ["scripts/kratos/build.sh"]))
    .trim()
    .split("\n").at(-1)!;
const chromium = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
try {
  await Deno.stat(chromium);
} catch {
  console.error(`Chromium is required for the browser tests and was not found at ${chromium}.`);
  console.error(
    "Install it (Debian: apt-get install chromium libnss3-tools) or set CHROMIUM_PATH.",
  );
  console.log("orygate: 0 passed, 1 failed");
  Deno.exit(1);
}

const { code, text: out } = await run(
  `tests (Kratos: ${kratos}, Chromium: ${chromium})`,
  deno,
  ["test", "-A", "--parallel", "tests/"],
  { KRATOS_BIN: kratos, NO_COLOR: "1" },
);
const summary = /(ok|FAILED) \| (\d+) passed(?: \((\d+) steps\))? \| (\d+) failed/.exec(out);
const passed = Number(summary?.[2] ?? 0);
const failed = Number(summary?.[4] ?? (code === 0 ? 0 : 1));
console.log(`\norygate: ${passed} passed, ${failed === 0 && code !== 0 ? 1 : failed} failed`);
Deno.exit(code === 0 && passed > 0 ? 0 : 1);
