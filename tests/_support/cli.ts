/**
 * Runs the real CLI (`deno run -A src/main.ts ...`) as a child process for integration tests
 * and waits until it says it is ready.
 */

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("src/main.ts", ROOT).pathname;

/**
 * The child's environment: the parent's (so TLS roots, caches and proxies keep working) minus
 * anything that configures orygate itself, with Deno's cache pinned so a test that changes
 * HOME still finds the packages already downloaded.
 */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const key of Object.keys(env)) {
    if (key.startsWith("ORY_") || key === "PORT") delete env[key];
  }
  const cacheHome = env.XDG_CACHE_HOME ?? `${env.HOME ?? "/root"}/.cache`;
  return { ...env, DENO_DIR: env.DENO_DIR ?? `${cacheHome}/deno`, NO_COLOR: "1", ...extra };
}

/** A running orygate process. */
export interface CliProcess {
  readonly pid: number;
  readonly port: number;
  /** `http://localhost:<port>` */
  readonly url: string;
  /** Everything printed to stderr so far. */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Waits for the process to exit by itself. */
  exited: Promise<Deno.CommandStatus>;
}

/** Picks a free loopback port. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Peak and current resident memory of a process, in bytes (Linux). */
export async function memoryOf(pid: number): Promise<{ peak: number; current: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) =>
    Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kb("VmHWM"), current: kb("VmRSS") };
}

async function waitForPort(port: number, exited: Promise<unknown>): Promise<void> {
  let done = false;
  exited.then(() => (done = true));
  while (!done) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await new Promise<never>(() => {});
}

/** Runs the CLI to completion (for commands that exit by themselves). */
export async function runCliOnce(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Starts `orygate <args> --port <free port>` and resolves once its banner says ready. */
export async function startCli(
  args: string[],
  options: { env?: Record<string, string>; port?: number; readyText?: string } = {},
): Promise<CliProcess> {
  const port = options.port ?? freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args, "--port", String(port)],
    env: childEnv(options.env),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const readyText = options.readyText ?? "is ready";
  let onReady: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes(readyText)) onReady();
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status.then(async (status) => {
    await pumps;
    return status;
  });
  const timeout = new Promise<"timeout">((r) => {
    const t = setTimeout(() => r("timeout"), 30_000);
    exited.finally(() => clearTimeout(t));
    ready.finally(() => clearTimeout(t));
  });
  // With --quiet there is no banner: then the port accepting connections means ready.
  const quiet = args.includes("--quiet");
  const listening = quiet ? waitForPort(port, exited) : new Promise<never>(() => {});
  const first = await Promise.race([
    ready.then(() => "ready" as const),
    listening.then(() => "ready" as const),
    exited,
    timeout,
  ]);
  if (first !== "ready") {
    if (first === "timeout") child.kill("SIGKILL");
    await exited;
    throw new Error(`orygate did not become ready (${JSON.stringify(first)}):\n${text}`);
  }
  return {
    pid: child.pid,
    port,
    url: `http://localhost:${port}`,
    output: () => text,
    exited,
    async stop(signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // already exited
      }
      return (await exited).code;
    },
  };
}
