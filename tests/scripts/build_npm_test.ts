import {
  bundleArgs,
  DENO_PLATFORM_PACKAGES,
  launcherDenoArgs,
  npmPackageJson,
} from "../../scripts/build_npm.ts";
import { PERMISSION_FLAGS, V8_FLAGS } from "../../scripts/_deno_flags.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const LAUNCHER = new URL("../../npm/bin/orygate.cjs", import.meta.url);
const NPM_README = new URL("../../npm/README.md", import.meta.url);
const MAIN = new URL("../../src/main.ts", import.meta.url);

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
    ...V8_FLAGS,
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
  // The runtime comes from the per-platform packages, not from `deno` and its install script.
  assertEquals(meta.dependencies, undefined);
  assertEquals(meta.optionalDependencies, {
    "@deno/darwin-arm64": "2.9.5",
    "@deno/darwin-x64": "2.9.5",
    "@deno/linux-arm64-glibc": "2.9.5",
    "@deno/linux-x64-glibc": "2.9.5",
    "@deno/win32-arm64": "2.9.5",
    "@deno/win32-x64": "2.9.5",
  });
  assertEquals(meta.files, ["bin/orygate.cjs", "orygate.js", "README.md"]);
  assertEquals(meta.orygate, { denoArgs: launcherDenoArgs(["no-legacy-abort"]) });
});

Deno.test("the npm README is for npm users: npx commands, no source checkout", async (t) => {
  const readme = await Deno.readTextFile(NPM_README);
  await t.step("no command runs the sources", () => {
    assert(!readme.includes("src/main.ts"), "npm/README.md mentions src/main.ts");
    assert(!/\bdeno (run|task)\b/.test(readme), "npm/README.md has deno run/task commands");
  });
  await t.step("it shows npx, and a CI run: background, wait until ready, stop", () => {
    assertMatch(readme, /^npx orygate proxy http:\/\/localhost:3000 /m);
    assertMatch(readme, /^npx orygate proxy .* &$/m);
    assertMatch(readme, /\/\.ory\/jwks\.json/);
    assertMatch(readme, /^kill "\$ORYGATE_PID"$/m);
  });
  await t.step("every flag its npx commands use is one the command has", async () => {
    const commands = readme.split("\n").filter((line) => line.startsWith("npx orygate "));
    assert(commands.length >= 5, commands.join("\n"));
    for (const line of commands) {
      const words = line.replace(/\s+(#.*|&)$/, "").split(/\s+/).slice(2);
      const command = words[0] === "--help"
        ? []
        : words[1] === "local"
        ? ["proxy", "local"]
        : [words[0]];
      const help = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN.pathname, ...command, "--help"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(help.stdout);
      assertEquals(help.code, 0, line);
      for (const flag of words.filter((w) => w.startsWith("--"))) {
        assert(text.includes(` ${flag}`), `${line}: ${flag} is not in ${command.join(" ")} --help`);
      }
    }
  });
  await t.step("the platform packages it names are the ones the package depends on", () => {
    for (const name of readme.match(/@deno\/[a-z0-9-]+/g) ?? []) {
      assert(DENO_PLATFORM_PACKAGES.includes(name), name);
    }
  });
});

/** The environment without npm's settings (under `npm test`, npm_lifecycle_event is set). */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([key]) => !/^npm_/i.test(key)),
  );
}

/** The platform package the launcher looks for on this machine. */
async function platformPackage(): Promise<string> {
  const out = await new Deno.Command("node", {
    args: ["-p", `require(${JSON.stringify(LAUNCHER.pathname)}).platformPackage()`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** A package laid out as npm installs it, with this Deno standing in for the platform package's. */
async function fakeInstall(program: string): Promise<{ dir: string; runtime: string }> {
  const dir = await Deno.makeTempDir({ prefix: "orygate-launcher-" });
  const platform = await platformPackage();
  const runtime = `${dir}/node_modules/${platform}`;
  await Deno.mkdir(`${dir}/node_modules/orygate/bin`, { recursive: true });
  await Deno.mkdir(runtime, { recursive: true });
  await Deno.copyFile(LAUNCHER, `${dir}/node_modules/orygate/bin/orygate.cjs`);
  await Deno.writeTextFile(
    `${dir}/node_modules/orygate/package.json`,
    JSON.stringify({ name: "orygate", orygate: { denoArgs: ["run", "-A"] } }),
  );
  await Deno.writeTextFile(`${dir}/node_modules/orygate/orygate.js`, program);
  await Deno.writeTextFile(`${runtime}/package.json`, JSON.stringify({ name: platform }));
  await Deno.symlink(Deno.execPath(), `${runtime}/deno`);
  return { dir, runtime };
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
if (mode === "lifeline") {
  console.log(\`ready, lifeline: \${Deno.env.get("ORYGATE_STOP_WHEN_STDIN_CLOSES")}\`);
  const buffer = new Uint8Array(16);
  while (await Deno.stdin.read(buffer) !== null);
  console.log("stdin closed");
}
`;

/** Reads a stream line by line, each read bounded by a timeout. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  // A read outlives a timeout, so that what it brings is not lost for the next call.
  let pending: Promise<ReadableStreamReadResult<string>> | undefined;
  return {
    /** The next line; null at the end; throws after `timeoutMs`. */
    async next(timeoutMs = 10_000): Promise<string | null> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no line in ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        while (!buffered.includes("\n")) {
          pending ??= reader.read();
          const { value, done } = await Promise.race([pending, timeout]);
          pending = undefined;
          if (done) return buffered === "" ? null : buffered;
          buffered += value;
        }
        const line = buffered.slice(0, buffered.indexOf("\n"));
        buffered = buffered.slice(line.length + 1);
        return line;
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test({
  name: "the launcher runs the bundle on Deno, passes arguments, exit codes and signals",
  ignore: Deno.build.os === "windows",
  async fn(t) {
    const { dir, runtime } = await fakeInstall(PROGRAM);
    const launcher = `${dir}/node_modules/orygate/bin/orygate.cjs`;
    const spawnOptions = {
      env: cleanEnv(),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    } as const;
    const node = (args: string[]) =>
      new Deno.Command("node", { args: [launcher, ...args], ...spawnOptions });
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
        const lines = lineReader(child.stdout);
        assertEquals(await lines.next(), "ready");
        return { child, lines };
      };
      await t.step("SIGTERM reaches the program, which stops cleanly: exit 0", async () => {
        const { child, lines } = await started();
        child.kill("SIGTERM");
        assertEquals(await lines.next(), "stopping");
        await lines.cancel();
        await child.stderr.cancel();
        assertEquals((await child.status).code, 0);
      });
      await t.step("a signal the program does not handle ends it: 128 + signal", async () => {
        const { child, lines } = await started();
        child.kill("SIGHUP");
        await lines.cancel();
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
            ...spawnOptions,
            stderr: "null",
          }).spawn();
          const lines = lineReader(child.stdout);
          assertEquals(await lines.next(), "ready");
          // The terminal signals the whole foreground group; npm then forwards its own copy.
          Deno.kill(-child.pid, "SIGINT");
          await new Promise((resolve) => setTimeout(resolve, 200));
          Deno.kill(child.pid, "SIGINT");
          assertEquals(await lines.next(), "interrupts: 1");
          await lines.cancel();
          assertEquals((await child.status).code, 0);
        },
      });
      await t.step(
        "the program's stdin is the launcher's pipe: it closes when the launcher is SIGKILLed",
        async () => {
          const child = node(["lifeline"]).spawn();
          const lines = lineReader(child.stdout);
          assertEquals(await lines.next(), "ready, lifeline: 1");
          Deno.kill(child.pid, "SIGKILL");
          // The program still holds the stdout pipe: its last words arrive.
          assertEquals(await lines.next(5000), "stdin closed");
          assertEquals(await lines.next(5000), null);
          await child.stderr.cancel();
          assertEquals((await child.status).signal, "SIGKILL");
        },
      );
      // npx runs the bin through `sh -c`; these stand a shell in for npx's and one for npm.
      const underNpx = (script: string) =>
        new Deno.Command("sh", {
          args: ["-c", script, "sh", launcher],
          ...spawnOptions,
          env: { ...cleanEnv(), npm_lifecycle_event: "npx" },
          stderr: "null",
        }).spawn();
      await t.step("under npx, the program stops once npx's shell is gone", async () => {
        // `; exit` keeps the shell as the launcher's parent (no exec), as npx's shell is.
        const shell = underNpx('node "$1" wait; exit');
        const lines = lineReader(shell.stdout);
        assertEquals(await lines.next(), "ready");
        Deno.kill(shell.pid, "SIGKILL");
        assertEquals(await lines.next(5000), "stopping");
        assertEquals(await lines.next(5000), null);
      });
      await t.step({
        name: "under npx, the program stops once npm is gone, though npm's shell lives on",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          const npm = underNpx('sh -c \'node "$1" wait; exit\' sh "$1"; exit');
          const lines = lineReader(npm.stdout);
          assertEquals(await lines.next(), "ready");
          Deno.kill(npm.pid, "SIGKILL");
          assertEquals(await lines.next(5000), "stopping");
          assertEquals(await lines.next(5000), null);
        },
      });
      await t.step(
        "not under npx, a shell that started it in the background may end before it",
        async () => {
          const shell = new Deno.Command("sh", {
            args: ["-c", 'node "$1" wait & echo "$!"', "sh", launcher],
            ...spawnOptions,
            stderr: "null",
          }).spawn();
          const lines = lineReader(shell.stdout);
          const first = [await lines.next(), await lines.next()];
          const pid = Number(first.find((line) => line !== "ready"));
          assert(first.includes("ready") && pid > 0, first.join(", "));
          assertEquals((await shell.status).code, 0);
          await assertThrowsTimeout(() => lines.next(1500));
          Deno.kill(pid, "SIGTERM");
          assertEquals(await lines.next(5000), "stopping");
        },
      );
      await t.step("a missing runtime is one line naming the package, exit 1", async () => {
        await Deno.remove(runtime, { recursive: true });
        const out = await node(["--version"]).output();
        assertEquals(out.code, 1);
        const stderr = new TextDecoder().decode(out.stderr);
        assertEquals(
          stderr,
          `orygate: Cannot start: ${await platformPackage()} is not installed: it holds the Deno ` +
            `runtime for ${Deno.build.os}-${Deno.build.arch === "x86_64" ? "x64" : "arm64"} ` +
            "(reinstall orygate, without --omit=optional or --no-optional)\n",
        );
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Asserts that `fn` times out rather than answering. */
async function assertThrowsTimeout(fn: () => Promise<unknown>): Promise<void> {
  const answer = await fn().then((value) => `answered ${JSON.stringify(value)}`, (e) => e);
  assert(answer instanceof Error && /^no line in/.test(answer.message), String(answer));
}
