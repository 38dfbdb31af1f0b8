/**
 * The npm package, for real (slow: builds, packs, and installs it with npm, which fetches the
 * `@deno/<platform>` runtime package from the registry once, then from npm's cache), used the
 * way CI pipelines use it: `npx orygate proxy … &`, then `kill $!`. Run alone with
 * `deno test -A tests/npm/`.
 */
import { smoke } from "../../scripts/smoke.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);
const VERSION: string = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).version;
const decoder = new TextDecoder();

/** The environment without an outer npm's settings (`npm test` sets npm_config_* for its child). */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([key]) => !/^npm_/i.test(key)),
  );
}

async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { ...cleanEnv(), NO_COLOR: "1" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${out.code}:\n${stdout}\n${stderr}`);
  }
  return { stdout, stderr };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

const portOpen = (port: number) =>
  Deno.connect({ hostname: "127.0.0.1", port }).then((c) => (c.close(), true), () => false);

/** Polls `check` every 100 ms for up to `ms`; returns how long it took, or throws. */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Date.now() - started;
}

/** Live processes (Linux: /proc) whose environment carries `tag`, with their command lines. */
async function processesTagged(tag: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      // A zombie's environment reads empty: only live processes count.
      const environ = await Deno.readTextFile(`/proc/${entry.name}/environ`);
      if (!environ.split("\0").includes(tag)) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      found.push(`${entry.name}: ${cmdline.split("\0").join(" ").trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/**
 * `npx orygate proxy` in `project`, as a CI script starts it (`direct`: the bin npm linked, without
 * npx); resolves once it is ready.
 */
async function startNpx(
  project: string,
  appPort: number,
  options: { setsid?: boolean; direct?: boolean } = {},
) {
  const port = freePort();
  const tag = `ORYGATE_TEST_RUN=${crypto.randomUUID()}`;
  const npx = [
    ...(options.direct
      ? [`${project}/node_modules/.bin/orygate`]
      : ["npx", "--no", "--", "orygate"]),
    "proxy",
    `http://127.0.0.1:${appPort}`,
    "--sdk-url",
    `http://127.0.0.1:${freePort()}`,
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
  ];
  // setsid: npx leads its own process group, as a terminal's foreground job does.
  const [cmd, ...args] = options.setsid ? ["setsid", ...npx] : npx;
  const child = new Deno.Command(cmd, {
    args,
    cwd: project,
    env: { ...cleanEnv(), NO_COLOR: "1", [tag.split("=")[0]]: tag.split("=")[1] },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const { promise: ready, resolve } = Promise.withResolvers<void>();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output += text;
      if (output.includes("is ready")) resolve();
    }
  };
  // The pipes end when the last process holding them does: every process of the run.
  const ended = Promise.all([read(child.stdout), read(child.stderr)]);
  const first = await Promise.race([
    ready.then(() => "ready"),
    child.status.then((s) => `npx exited with ${s.code}`),
    new Promise((r) => setTimeout(() => r("not ready in 60 s"), 60_000)),
  ]);
  assertEquals(first, "ready", output);
  assert(await portOpen(port));
  return { child, port, tag, ended, output: () => output };
}

type Run = Awaited<ReturnType<typeof startNpx>>;

/** The port closes within 5 s and no process of the run is left; returns how long it took. */
async function assertAllGone(run: Run): Promise<number> {
  const took = await within(
    5000,
    `port ${run.port} closed`,
    async () => !(await portOpen(run.port)),
  );
  await within(
    5000,
    "every process of the run gone",
    async () => (await processesTagged(run.tag)).length === 0,
  ).catch(async (err) => {
    throw new Error(`${err.message}:\n${(await processesTagged(run.tag)).join("\n")}`);
  });
  await run.ended;
  return took;
}

Deno.test({
  name: "npm package (slow): installs without scripts, runs, and ends with whoever started it",
  ignore: Deno.build.os === "windows",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "orygate-npm-" });
    const app = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("app"),
    );
    try {
      const pkg = `${tmp}/pkg`;
      const project = `${tmp}/project`;

      let meta: Record<string, Record<string, string>> = {};
      await t.step(
        "build:npm writes the package: deno.json's version, this Deno's platform packages",
        async () => {
          await run(
            Deno.execPath(),
            ["run", "-A", "scripts/build_npm.ts", "--out-dir", pkg],
            ROOT.pathname,
          );
          meta = JSON.parse(await Deno.readTextFile(`${pkg}/package.json`));
          assertEquals(
            [meta.name, meta.version, meta.bin, meta.dependencies],
            ["orygate", VERSION, { orygate: "bin/orygate.cjs" }, undefined],
          );
        },
      );

      await t.step("the platform packages are the ones npm's deno package lists", async () => {
        const { stdout } = await run(
          "npm",
          ["view", `deno@${Deno.version.deno}`, "optionalDependencies", "--json"],
          tmp,
        );
        assertEquals(meta.optionalDependencies, JSON.parse(stdout));
      });

      let tarball = "";
      await t.step("npm pack ships the launcher, the bundle, README and LICENSE only", async () => {
        const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", tmp], pkg);
        const [packed] = JSON.parse(stdout);
        tarball = `${tmp}/${packed.filename}`;
        const files = packed.files.map((f: { path: string }) => f.path).sort();
        const expected = ["README.md", "bin/orygate.cjs", "orygate.js", "package.json"];
        const hasLicense = await Deno.stat(new URL("LICENSE", ROOT)).then(() => true, () => false);
        assertEquals(files, (hasLicense ? ["LICENSE", ...expected] : expected).sort());
      });

      await t.step(
        "npm install --ignore-scripts into an empty project: the runtime, no install script",
        async () => {
          await Deno.mkdir(project);
          await Deno.writeTextFile(`${project}/package.json`, '{ "name": "t", "private": true }\n');
          const { stdout, stderr } = await run(
            "npm",
            ["install", "--ignore-scripts", "--no-audit", "--no-fund", tarball],
            project,
          );
          assert(!/install-scripts|allowScripts/.test(stdout + stderr), stdout + stderr);
          const lister = await run("npm", ["install-scripts", "ls"], project).catch((e) => e);
          assert(!/not yet covered|deno@/.test(String(lister.stdout ?? lister)), String(lister));
          await Deno.stat(`${project}/node_modules/.bin/orygate`);
          const launcher = `${project}/node_modules/orygate/bin/orygate.cjs`;
          const { stdout: platform } = await run(
            "node",
            ["-p", `require(${JSON.stringify(launcher)}).platformPackage()`],
            project,
          );
          await Deno.stat(`${project}/node_modules/${platform.trim()}/deno`);
          const noDeno = await Deno.stat(`${project}/node_modules/deno`).then(() => 0, () => 1);
          assertEquals(noDeno, 1, "npm's deno package (with its install script) was installed");
        },
      );

      await t.step(
        "the shipped README is for npm users: npx commands, no src/main.ts",
        async () => {
          const readme = await Deno.readTextFile(`${project}/node_modules/orygate/README.md`);
          assert(!readme.includes("src/main.ts"), "the shipped README runs the sources");
          assertMatch(readme, /^npx orygate proxy /m);
        },
      );

      await t.step("npx orygate --version prints deno.json's version", async () => {
        const { stdout } = await run("npx", ["--no", "--", "orygate", "--version"], project);
        assertEquals(stdout.trim(), VERSION);
      });

      await t.step(
        "orygate proxy serves the JWKS and the app, and exits 0 on SIGTERM",
        async () => {
          // The bin npm linked is what `npx orygate` runs, started directly here.
          await smoke([`${project}/node_modules/.bin/orygate`], { cwd: project, env: cleanEnv() });
        },
      );

      await t.step({
        name: "`npx orygate proxy … &` then `kill $!`: orygate ends with npx, port closed",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          const npx = await startNpx(project, app.addr.port);
          // SIGTERM to the npx process only, as `kill $!` sends it.
          Deno.kill(npx.child.pid, "SIGTERM");
          await assertAllGone(npx);
          assertMatch(npx.output(), /shutting down/);
        },
      });

      await t.step({
        name: "SIGKILL to npx: orygate ends all the same",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          const npx = await startNpx(project, app.addr.port);
          Deno.kill(npx.child.pid, "SIGKILL");
          await assertAllGone(npx);
          assertMatch(npx.output(), /shutting down/);
        },
      });

      await t.step({
        name: "SIGKILL to the launcher: orygate ends all the same",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          const npx = await startNpx(project, app.addr.port);
          const launcher = (await processesTagged(npx.tag))
            .filter((p) => / \S*node_modules\/\.bin\/orygate proxy /.test(p));
          assertEquals(launcher.length, 1, launcher.join("\n"));
          Deno.kill(Number(launcher[0].split(":")[0]), "SIGKILL");
          await assertAllGone(npx);
          assertMatch(npx.output(), /shutting down/);
        },
      });

      await t.step({
        name: "Ctrl-C (SIGINT to the process group) stops it cleanly: exit 0",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          const bin = await startNpx(project, app.addr.port, { setsid: true, direct: true });
          Deno.kill(-bin.child.pid, "SIGINT");
          const status = await bin.child.status;
          await assertAllGone(bin);
          assertEquals([status.code, status.signal], [0, null], bin.output());
          assertMatch(bin.output(), /shutting down\n$/);
        },
      });

      await t.step({
        name: "Ctrl-C under npx stops it cleanly too (npx itself reports the SIGINT)",
        ignore: Deno.build.os !== "linux",
        fn: async () => {
          const npx = await startNpx(project, app.addr.port, { setsid: true });
          Deno.kill(-npx.child.pid, "SIGINT");
          const status = await npx.child.status;
          await assertAllGone(npx);
          // npm waits for its child, then ends itself with the SIGINT it got, whatever the
          // child's exit code (as for any program under npx: 130 in a shell).
          assertEquals(status.signal, "SIGINT");
          assertMatch(npx.output(), /shutting down\n$/);
        },
      });
    } finally {
      await app.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
