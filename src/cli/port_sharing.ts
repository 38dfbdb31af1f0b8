/**
 * Whether several event loops can accept on one port here. orygate's workers each listen with
 * `SO_REUSEPORT` (`Deno.listen({ reusePort: true })`), and the kernel spreads new connections
 * over them. Deno supports `reusePort` on Linux only (elsewhere it is ignored, and a second
 * listener finds the port in use) and only with `--unstable-net` (without it, the listen call
 * ends the process). Elsewhere orygate runs one event loop and says so.
 *
 * @example
 * ```ts
 * import { portSharing } from "./port_sharing.ts";
 * portSharing({ os: "darwin", unstableNet: true }); // "this system cannot share a port …"
 * portSharing({ os: "linux", unstableNet: true }); // undefined: it can
 * ```
 *
 * @module
 */

/** What the answer depends on; default: this process. */
export interface Runtime {
  readonly os: typeof Deno.build.os;
  /** Whether Deno runs with `--unstable-net` (its unstable network APIs exist). */
  readonly unstableNet: boolean;
}

/** This process's runtime. */
export function currentRuntime(): Runtime {
  return {
    os: Deno.build.os,
    // Present only with --unstable-net, the flag `reusePort` needs.
    unstableNet: typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function",
  };
}

/** Undefined when workers can share the port; else why not, in words for a log line. */
export function portSharing(runtime: Runtime = currentRuntime()): string | undefined {
  if (runtime.os !== "linux") {
    return "this system cannot share a port between event loops (Deno's reusePort, which " +
      "spreads connections over several listeners, is Linux-only)";
  }
  if (!runtime.unstableNet) {
    return "sharing the port needs Deno's --unstable-net flag (this repository's deno.json, " +
      "the npm package and the binaries have it; add it when running from JSR)";
  }
  return undefined;
}
