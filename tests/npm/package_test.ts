/**
 * The npm package, for real (slow: builds, packs, and installs it with npm, which fetches the
 * `deno` runtime package from the registry once, then from npm's cache). Run alone with
 * `deno test -A tests/npm/`.
 */
import { smoke } from "../../scripts/smoke.ts";
import { assertEquals } from "../_support/assert.ts";

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

Deno.test({
  name: "npm package (slow): installs with npm, prints its version, proxies, stops on SIGTERM",
  ignore: Deno.build.os === "windows",
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "orygate-npm-" });
    try {
      const pkg = `${tmp}/pkg`;
      const project = `${tmp}/project`;

      await t.step(
        "build:npm writes the package: deno.json's version, this Deno as runtime",
        async () => {
          await run(
            Deno.execPath(),
            ["run", "-A", "scripts/build_npm.ts", "--out-dir", pkg],
            ROOT.pathname,
          );
          const meta = JSON.parse(await Deno.readTextFile(`${pkg}/package.json`));
          assertEquals(
            [meta.name, meta.version, meta.bin, meta.dependencies],
            ["orygate", VERSION, { orygate: "bin/orygate.cjs" }, { deno: Deno.version.deno }],
          );
        },
      );

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

      await t.step("npm install puts orygate on the project's bin path", async () => {
        await Deno.mkdir(project);
        await Deno.writeTextFile(`${project}/package.json`, '{ "name": "t", "private": true }\n');
        await run("npm", ["install", "--no-audit", "--no-fund", tarball], project);
        await Deno.stat(`${project}/node_modules/.bin/orygate`);
      });

      await t.step("npx orygate --version prints deno.json's version", async () => {
        const { stdout } = await run("npx", ["--no", "--", "orygate", "--version"], project);
        assertEquals(stdout.trim(), VERSION);
      });

      await t.step(
        "without install scripts (npm --ignore-scripts) it finds Deno all the same",
        async () => {
          const bare = `${tmp}/bare`;
          await Deno.mkdir(bare);
          await Deno.writeTextFile(`${bare}/package.json`, '{ "name": "b", "private": true }\n');
          await run(
            "npm",
            ["install", "--ignore-scripts", "--no-audit", "--no-fund", tarball],
            bare,
          );
          const { stdout } = await run(`${bare}/node_modules/.bin/orygate`, ["--version"], bare);
          assertEquals(stdout.trim(), VERSION);
        },
      );

      await t.step(
        "orygate proxy serves the JWKS and the app, and exits 0 on SIGTERM",
        async () => {
          // The bin npm linked is what `npx orygate` runs. It is started directly: npm exec ends
          // at once on SIGTERM without passing it on, so a SIGTERM to npx says nothing of orygate.
          await smoke([`${project}/node_modules/.bin/orygate`], { cwd: project, env: cleanEnv() });
        },
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
