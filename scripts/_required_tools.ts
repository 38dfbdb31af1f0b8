/**
 * The external programs the test suite runs, each with what needs it and how to install it, so
 * the gate (`scripts/test_all.ts`) can name every missing one up front, in one line each, and a
 * test that needs one can fail with the same line instead of a bare "entity not found".
 *
 * @example
 * ```ts ignore
 * import { missingTools, requiredTools } from "./_required_tools.ts";
 * for (const line of await missingTools(requiredTools({ kratosBuilt: true }))) console.error(line);
 * ```
 *
 * @module
 */

/** An external program the tests run. */
export interface RequiredTool {
  /** The program's name, looked up on PATH, or an absolute path. */
  readonly program: string;
  /** How to get it: the Debian package to install, or where else it comes from. */
  readonly install: string;
  /** What needs it. */
  readonly usedBy: string;
}

/** What decides which tools are needed. */
export interface ToolOptions {
  /** Ory Kratos is built already (`scripts/kratos/build.sh --cached`): gcc is not needed. */
  readonly kratosBuilt: boolean;
  /** Where Chromium is; default `$CHROMIUM_PATH`, else `/usr/bin/chromium`. */
  readonly chromium?: string;
}

/** The Chromium the browser tests drive: `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";
}

const apt = (pkg: string) => `Debian: apt-get install ${pkg}`;

/** The certutil of NSS, which the trust-store tests run for real. */
export const CERTUTIL: RequiredTool = {
  program: "certutil",
  install: apt("libnss3-tools"),
  usedBy: "the NSS trust-store tests (tests/tls, tests/cli/proxy_local_test.ts)",
};

/** Redis, which carries logouts between instances in tests/cli/revocation_test.ts. */
export const REDIS_SERVER: RequiredTool = {
  program: "redis-server",
  install: apt("redis-server"),
  usedBy: "the revocation-across-instances test (tests/cli/revocation_test.ts)",
};

/** nginx, the round-robin load balancer in front of three instances in the same test. */
export const NGINX: RequiredTool = {
  program: "nginx",
  install: apt("nginx"),
  usedBy: "the revocation-across-instances test (tests/cli/revocation_test.ts) and deno task bench",
};

/** Every program the suite runs, for this machine's state. */
export function requiredTools(options: ToolOptions): RequiredTool[] {
  const tools: RequiredTool[] = [
    {
      program: options.chromium ?? chromiumPath(),
      install: `${apt("chromium")}, or set CHROMIUM_PATH`,
      usedBy: "the browser tests (tests/e2e, tests/cli/proxy_local_test.ts)",
    },
    CERTUTIL,
    {
      program: "openssl",
      install: apt("openssl"),
      usedBy: "the independent certificate checks (tests/tls)",
    },
    ...["node", "npm", "npx"].map((program) => ({
      program,
      install: apt(program === "node" ? "nodejs" : "npm"),
      usedBy: "the npm package tests (tests/npm, tests/scripts/build_npm_test.ts)",
    })),
    {
      program: "setsid",
      install: apt("util-linux"),
      usedBy: "the Ctrl-C tests of the npm launcher",
    },
    {
      program: "sha256sum",
      install: apt("coreutils"),
      usedBy: "the release checksum test (tests/scripts/compile_test.ts)",
    },
    { program: "bash", install: apt("bash"), usedBy: "scripts/kratos/build.sh" },
    REDIS_SERVER,
    NGINX,
    {
      program: "go",
      install: "Go 1.23 or newer from https://go.dev/dl (Debian 12's golang-go, 1.19, is too old)",
      usedBy: "the path-protection property test (Go's ServeMux as a judge)" +
        (options.kratosBuilt ? "" : " and building Ory Kratos once (scripts/kratos/build.sh)"),
    },
  ];
  if (!options.kratosBuilt) {
    tools.push({
      program: "gcc",
      install: apt("gcc"),
      usedBy: "building Ory Kratos once (its SQLite driver uses cgo)",
    });
  }
  return tools;
}

/** The line that says a tool is missing, what needs it and how to get it. */
export function missingLine(tool: RequiredTool): string {
  return `${tool.program} is not installed (${tool.install}); needed by ${tool.usedBy}`;
}

/**
 * The executable `program` resolves to: itself when it has a slash, else the first executable
 * file of that name on `path` (default `$PATH`); undefined when there is none.
 */
export async function findProgram(
  program: string,
  path: string = Deno.env.get("PATH") ?? "",
): Promise<string | undefined> {
  const candidates = program.includes("/")
    ? [program]
    : path.split(":").filter((dir) => dir !== "").map((dir) => `${dir}/${program}`);
  for (const candidate of candidates) {
    try {
      const info = await Deno.stat(candidate);
      // mode is null on Windows, where the suite does not run; a file there counts.
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied)) {
        throw err;
      }
    }
  }
  return undefined;
}

/** One line for each tool in `tools` that {@linkcode findProgram} cannot find. */
export async function missingTools(
  tools: readonly RequiredTool[],
  path?: string,
): Promise<string[]> {
  const lines: string[] = [];
  for (const tool of tools) {
    if (await findProgram(tool.program, path) === undefined) lines.push(missingLine(tool));
  }
  return lines;
}

/** Throws the tool's one-line message unless it is installed: for tests that need it. */
export async function requireTool(tool: RequiredTool): Promise<void> {
  if (await findProgram(tool.program) === undefined) throw new Error(missingLine(tool));
}
