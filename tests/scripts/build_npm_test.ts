import { bundleArgs, launcherDenoArgs, npmPackageJson } from "../../scripts/build_npm.ts";
import { PERMISSION_FLAGS } from "../../scripts/_deno_flags.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const LAUNCHER = new URL("../../npm/bin/orygate.cjs", import.meta.url);

Deno.test("bundleArgs() bundles src/main.ts for Deno, keeping class names", () => {
  assertEquals(bundleArgs("/out/orygate.js"), [
    "bundle",
    "--platform",
    "deno",
    "--keep-names",
    "--output",
    "/out/orygate.js",
    "src/main.ts",
  ]);
});

Deno.test("launcherDenoArgs() run with the CLI's permissions and nothing from the user's directory", () => {
  assertEquals(launcherDenoArgs(["no-legacy-abort"]), [
    "run",
    ...PERMISSION_FLAGS,
    "--unstable-no-legacy-abort",
    "--no-config",
    "--no-lock",
    "--no-npm",
    "--no-remote",
  ]);
});

Deno.test("npmPackageJson() describes the package from the project's facts", () => {
  const meta = npmPackageJson({
    version: "1.2.3",
    unstable: ["no-legacy-abort"],
    denoVersion: "2.9.5",
  });
  assertEquals(meta.name, "orygate");
  assertEquals(meta.version, "1.2.3");
  assertEquals(meta.license, "Apache-2.0");
  assertEquals(meta.bin, { orygate: "bin/orygate.cjs" });
  assertEquals(meta.engines, { node: ">=20" });
  assertEquals(meta.dependencies, { deno: "2.9.5" });
  assertEquals(meta.files, ["bin/orygate.cjs", "orygate.js", "README.md"]);
  assertEquals(meta.orygate, { denoArgs: launcherDenoArgs(["no-legacy-abort"]) });
});

/** A package laid out as npm installs it, with this Deno standing in for the `deno` package's. */
async function fakeInstall(program: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "orygate-launcher-" });
  await Deno.mkdir(`${dir}/pkg/bin`, { recursive: true });
  await Deno.mkdir(`${dir}/pkg/node_modules/deno`, { recursive: true });
  await Deno.copyFile(LAUNCHER, `${dir}/pkg/bin/orygate.cjs`);
  await Deno.writeTextFile(
    `${dir}/pkg/package.json`,
    JSON.stringify({ name: "orygate", orygate: { denoArgs: ["run", "-A"] } }),
  );
  await Deno.writeTextFile(`${dir}/pkg/orygate.js`, program);
  await Deno.writeTextFile(`${dir}/pkg/node_modules/deno/package.json`, '{ "name": "deno" }');
  await Deno.symlink(Deno.execPath(), `${dir}/pkg/node_modules/deno/deno`);
  return dir;
}

const PROGRAM = `
const [mode, ...rest] = Deno.args;
if (mode === "args") console.log(JSON.stringify(rest));
if (mode === "exit") Deno.exit(Number(rest[0]));
if (mode === "wait") {
  Deno.addSignalListener("SIGTERM", () => { console.log("stopping"); Deno.exit(0); });
  // Counts the SIGINTs that arrive (orygate stops gracefully on the first; a second cuts it short).
  let interrupts = 0;
  Deno.addSignalListener("SIGINT", () => {
    if (interrupts++ === 0) setTimeout(() => { console.log(\`interrupts: \${interrupts}\`); Deno.exit(0); }, 700);
  });
  console.log("ready");
  setTimeout(() => {}, 60_000);
}
`;

Deno.test({
  name: "the launcher runs the bundle on Deno, passes arguments, exit codes and signals",
  ignore: Deno.build.os === "windows",
  async fn(t) {
    const dir = await fakeInstall(PROGRAM);
    const launcher = `${dir}/pkg/bin/orygate.cjs`;
    const node = (args: string[]) =>
      new Deno.Command("node", { args: [launcher, ...args], stdout: "piped", stderr: "piped" });
    try {
      await t.step("arguments arrive as given", async () => {
        const out = await node(["args", "proxy", "--port", "4000", "a b"]).output();
        assertEquals(
          new TextDecoder().decode(out.stdout).trim(),
          '["proxy","--port","4000","a b"]',
        );
        assertEquals(out.code, 0);
      });
      await t.step("the exit code is the program's", async () => {
        assertEquals((await node(["exit", "3"]).output()).code, 3);
      });
      const started = async () => {
        const child = node(["wait"]).spawn();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        assertEquals((await reader.read()).value?.trim(), "ready");
        return { child, reader };
      };
      await t.step("SIGTERM reaches the program, which stops cleanly: exit 0", async () => {
        const { child, reader } = await started();
        child.kill("SIGTERM");
        assertEquals((await reader.read()).value?.trim(), "stopping");
        await reader.cancel();
        await child.stderr.cancel();
        assertEquals((await child.status).code, 0);
      });
      await t.step("a signal the program does not handle ends it: 128 + signal", async () => {
        const { child, reader } = await started();
        child.kill("SIGHUP");
        await reader.cancel();
        await child.stderr.cancel();
        assertEquals((await child.status).code, 129);
      });
      await t.step({
        name: "Ctrl-C under npx (SIGINT to the group, then npm's copy) reaches the program once",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          // setsid: the launcher leads its own process group, as a shell's foreground job does.
          const child = new Deno.Command("setsid", {
            args: ["node", launcher, "wait"],
            stdout: "piped",
            stderr: "null",
          }).spawn();
          const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
          assertEquals((await reader.read()).value?.trim(), "ready");
          // The terminal signals the whole foreground group; npm then forwards its own copy.
          Deno.kill(-child.pid, "SIGINT");
          await new Promise((resolve) => setTimeout(resolve, 200));
          Deno.kill(child.pid, "SIGINT");
          assertEquals((await reader.read()).value?.trim(), "interrupts: 1");
          await reader.cancel();
          assertEquals((await child.status).code, 0);
        },
      });
      await t.step("a missing runtime is one clear line, exit 1", async () => {
        await Deno.remove(`${dir}/pkg/node_modules/deno/deno`);
        const out = await node(["--version"]).output();
        assertEquals(out.code, 1);
        assert(
          new TextDecoder().decode(out.stderr).startsWith(
            "orygate: Cannot start: the Deno runtime for ",
          ),
          new TextDecoder().decode(out.stderr),
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
