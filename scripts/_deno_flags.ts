/**
 * The runtime flags every packaged orygate runs with — the compiled binaries and the npm
 * launcher alike — and the project facts the packaging scripts read from `deno.json`, so each
 * lives in one place.
 *
 * @example
 * ```ts ignore
 * import { PERMISSION_FLAGS, unstableFlags } from "./_deno_flags.ts";
 * const flags = [...PERMISSION_FLAGS, ...unstableFlags(["no-legacy-abort"])];
 * ```
 *
 * @module
 */

/** The repository root. */
export const ROOT: URL = new URL("../", import.meta.url);

/**
 * What the CLI needs, no more: the network (listen, forward), environment (ORY_* settings),
 * files (JWKS, certificates, trust stores), subprocesses (browser, certutil) and system facts
 * (uid, hostname). No FFI, no remote imports; a missing permission fails instead of prompting.
 */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-env",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-sys",
  "--no-prompt",
];

/**
 * V8 settings every packaged orygate runs with. V8 sizes its young generation from the
 * machine's memory (a 26 MiB semi-space, 52 MiB in all, on 24 GiB) and grows it to that
 * maximum under any load that keeps allocating (each proxied request, each event), and keeps
 * it; and it lets the old generation grow to up to 4x what survived the last full collection
 * before collecting again. A proxy's garbage is short-lived, and its long-lived part (held
 * streams) small. With 1000 SSE streams (docs/performance.md): V8's defaults ~155 MiB RSS;
 * 8 MiB semi-spaces ~125 (issue 16's first round, no cost per request); 4 MiB semi-spaces
 * and the old generation collected at 1.5x instead (`--heap-growing-percent=50`) 107-112
 * against 115-120 with 8 MiB alone, at 24.6 vs 24.9 us (semi-spaces) and +1-2 % (growing)
 * CPU per request under load (a). 2 MiB semi-spaces promoted events still in flight: no
 * smaller, more CPU.
 */
export const V8_FLAGS: readonly string[] = [
  "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=50",
];

/** `deno.json`'s `"unstable": ["x"]` as the command-line flags `--unstable-x`. */
export function unstableFlags(features: readonly string[] = []): string[] {
  return features.map((feature) => `--unstable-${feature}`);
}

/** The facts the packaging scripts need about the project. */
export interface ProjectFacts {
  /** The release version, from `deno.json`. */
  readonly version: string;
  /** Unstable features the program runs with, from `deno.json`. */
  readonly unstable: readonly string[];
  /**
   * The Deno version the npm package runs on: the one running this build (the project pins it
   * where Deno is fetched, `npx deno@<version>`), so users run what was built and tested.
   */
  readonly denoVersion: string;
}

/** Reads {@linkcode ProjectFacts} from `deno.json` under `root` and the running Deno. */
export async function readProjectFacts(root: URL = ROOT): Promise<ProjectFacts> {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const version = denoJson.version;
  if (typeof version !== "string" || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) {
    throw new Error(`Cannot read the version from deno.json: ${JSON.stringify(version)}`);
  }
  return { version, unstable: denoJson.unstable ?? [], denoVersion: Deno.version.deno };
}
