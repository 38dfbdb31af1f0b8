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
 * it. A proxy's garbage is short-lived: 8 MiB semi-spaces held 1000 SSE streams in ~125 MiB
 * instead of ~155 at the same CPU per request (docs/performance.md); 4 MiB and less promoted
 * events still in flight to the old generation, which then grew faster than it was collected.
 */
export const V8_FLAGS: readonly string[] = ["--v8-flags=--max-semi-space-size=8"];

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
