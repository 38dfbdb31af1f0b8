/**
 * Builds the npm package into `npm/dist/`: the program bundled into one file (`orygate.js`,
 * dependencies inlined), the Node launcher from `npm/bin/`, a generated `package.json` (version
 * from `deno.json`; the per-platform Deno runtime packages pinned to the Deno running this
 * build), the README for npm users (`npm/README.md`) and the LICENSE.
 *
 * ```sh
 * deno task build:npm                   # into npm/dist
 * deno task build:npm --out-dir /tmp/x
 * cd npm/dist && npm pack               # or: npm publish
 * ```
 *
 * @module
 */
import {
  PERMISSION_FLAGS,
  type ProjectFacts,
  readProjectFacts,
  ROOT,
  unstableFlags,
  V8_FLAGS,
} from "./_deno_flags.ts";

/** The package's name on npm. */
export const PACKAGE_NAME = "orygate";

/** Where the package is built by default, relative to the repository root. */
export const DEFAULT_OUT_DIR = "npm/dist";

/** The bundled program's file name inside the package. */
export const BUNDLE_FILE = "orygate.js";

/** The launcher's path inside the package. */
export const LAUNCHER_FILE = "bin/orygate.cjs";

/**
 * The packages that hold the Deno runtime, one per platform, as npm's `deno` package lists them
 * in its optionalDependencies (`npm view deno@2.9.5 optionalDependencies`). orygate depends on
 * them directly, in the same way: npm installs only the one matching the machine's os, cpu and
 * libc, and no install script runs (the `deno` package needs its postinstall script, which npm
 * 11 warns about and is moving to block). The launcher picks the one for this platform.
 */
export const DENO_PLATFORM_PACKAGES: readonly string[] = [
  "@deno/darwin-arm64",
  "@deno/darwin-x64",
  "@deno/linux-arm64-glibc",
  "@deno/linux-x64-glibc",
  "@deno/win32-arm64",
  "@deno/win32-x64",
];

/** The arguments after `deno` that bundle the CLI into `outFile`. */
export function bundleArgs(outFile: string): string[] {
  // --keep-names: error classes name themselves with `new.target.name`.
  return ["bundle", "--platform", "deno", "--keep-names", "--output", outFile, "src/main.ts"];
}

/**
 * The arguments the launcher passes to `deno` before the bundle's path: the CLI's permissions
 * and unstable features, and nothing from the user's directory — no deno.json, lock file or
 * package.json — nor any registry: the bundle needs only `node:` built-ins.
 */
export function launcherDenoArgs(unstable: readonly string[]): string[] {
  return [
    "run",
    ...PERMISSION_FLAGS,
    ...unstableFlags(unstable),
    ...V8_FLAGS,
    "--no-config",
    "--no-lock",
    "--no-npm",
    "--no-remote",
  ];
}

/** The package.json of the npm package. */
export function npmPackageJson(facts: ProjectFacts): Record<string, unknown> {
  return {
    name: PACKAGE_NAME,
    version: facts.version,
    description:
      "Ory's APIs on your application's domain: a reverse proxy, a tunnel and local HTTPS, like `ory proxy`.",
    keywords: ["ory", "kratos", "proxy", "reverse-proxy", "authentication", "jwt", "cli"],
    license: "Apache-2.0",
    // The bundle is an ES module; the launcher is CommonJS by its extension.
    type: "module",
    bin: { [PACKAGE_NAME]: LAUNCHER_FILE },
    files: [LAUNCHER_FILE, BUNDLE_FILE, "README.md"],
    engines: { node: ">=20" },
    // The platforms Deno ships a runtime for.
    os: ["darwin", "linux", "win32"],
    cpu: ["x64", "arm64"],
    optionalDependencies: Object.fromEntries(
      DENO_PLATFORM_PACKAGES.map((name) => [name, facts.denoVersion]),
    ),
    orygate: { denoArgs: launcherDenoArgs(facts.unstable) },
  };
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function parseOutDir(argv: readonly string[]): string {
  if (argv.length === 0) return DEFAULT_OUT_DIR;
  if (argv[0] === "--out-dir" && argv.length === 2 && argv[1] !== "") return argv[1];
  if (argv.length === 1 && argv[0].startsWith("--out-dir=") && argv[0].length > 10) {
    return argv[0].slice("--out-dir=".length);
  }
  throw new Error(`Cannot use "${argv.join(" ")}": the only option is --out-dir <dir>`);
}

async function main(argv: readonly string[]): Promise<number> {
  let outDir: string;
  try {
    outDir = parseOutDir(argv);
  } catch (err) {
    console.error(`build:npm: ${(err as Error).message}`);
    return 2;
  }
  const facts = await readProjectFacts();
  const out = new URL(outDir.endsWith("/") ? outDir : `${outDir}/`, ROOT);
  await Deno.remove(out, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  await Deno.mkdir(new URL("bin/", out), { recursive: true });

  const bundle = new URL(BUNDLE_FILE, out);
  const built = await new Deno.Command(Deno.execPath(), {
    args: bundleArgs(bundle.pathname),
    cwd: ROOT.pathname,
    stdin: "null",
  }).output();
  if (built.code !== 0) {
    console.error(`build:npm: Cannot bundle src/main.ts: deno bundle exited with ${built.code}`);
    return 1;
  }

  const launcher = new URL(LAUNCHER_FILE, out);
  await Deno.copyFile(new URL("npm/bin/orygate.cjs", ROOT), launcher);
  if (Deno.build.os !== "windows") await Deno.chmod(launcher, 0o755);

  // The repository's README is for working on orygate (its commands run src/main.ts); npm
  // users get their own.
  const readme = new URL("npm/README.md", ROOT);
  await Deno.copyFile(readme, new URL("README.md", out));
  if (await exists(new URL("LICENSE", ROOT))) {
    await Deno.copyFile(new URL("LICENSE", ROOT), new URL("LICENSE", out));
  } else {
    console.error("build:npm: note: no LICENSE file at the repository root to ship");
  }

  await Deno.writeTextFile(
    new URL("package.json", out),
    JSON.stringify(npmPackageJson(facts), null, 2) + "\n",
  );
  const size = (await Deno.stat(bundle)).size;
  console.log(
    `built ${PACKAGE_NAME}@${facts.version} in ${outDir} (${BUNDLE_FILE}: ${
      (size / 1024).toFixed(0)
    } KiB; runs on Deno ${facts.denoVersion} from @deno/<platform>)`,
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
