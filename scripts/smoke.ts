/**
 * Smoke-tests a built orygate — a compiled binary, the npm package's bin, or the sources — as a
 * user would run it: `--version` prints deno.json's version; `proxy` in front of a tiny local
 * app becomes ready, serves its JWKS at `/.ory/jwks.json` and the app's pages; SIGTERM stops it
 * with exit code 0. On Linux, again with `--workers 2`: both workers answer (each worker runs
 * the program's own main module, which must therefore be in the build) with the same keys.
 * Ory itself is not needed (an unused local port stands in for it).
 *
 * ```sh
 * deno run -A scripts/smoke.ts dist/orygate-x86_64-unknown-linux-gnu
 * deno run -A scripts/smoke.ts deno run -A src/main.ts
 * ```
 *
 * @module
 */
import { readProjectFacts, ROOT } from "./_deno_flags.ts";

/** Where and how the command runs. */
export interface SmokeOptions {
  /** Working directory; default: the current one. */
  readonly cwd?: string;
  /** The whole environment of the command; default: this process's. */
  readonly env?: Record<string, string>;
  /** Progress lines; default: none. */
  readonly log?: (line: string) => void;
  /** How long `proxy` may take to become ready; default 60 s. */
  readonly readyTimeoutMs?: number;
}

const decoder = new TextDecoder();

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Runs the checks against `command` (program and leading arguments); throws on the first failure. */
export async function smoke(command: readonly string[], options: SmokeOptions = {}): Promise<void> {
  const [program, ...leading] = command;
  if (program === undefined) throw new Error("Cannot smoke-test: no command given");
  const log = options.log ?? (() => {});
  const spawnOptions = {
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...(options.env ?? Deno.env.toObject()) },
    clearEnv: true,
    stdin: "null",
  } as const;
  const { version } = await readProjectFacts(ROOT);

  const printed = await new Deno.Command(program, {
    ...spawnOptions,
    args: [...leading, "--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const printedVersion = decoder.decode(printed.stdout).trim();
  if (printed.code !== 0 || printedVersion !== version) {
    throw new Error(
      `--version: expected "${version}" and exit 0, got "${printedVersion}" and exit ${printed.code}\n` +
        decoder.decode(printed.stderr),
    );
  }
  log(`--version: ${printedVersion}`);

  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      new Response(`<h1>smoke app</h1><p>${new URL(req.url).pathname}</p>`, {
        headers: { "content-type": "text/html; charset=utf-8" },
      }),
  );
  try {
    const run = (extra: string[], check: Check) =>
      runProxy(command, { ...options, spawnOptions, appPort: app.addr.port, extra, check, log });
    await run([], async (base, fail) => {
      const keys = await jwksKeys(base, fail);
      log(`proxy: /.ory/jwks.json has ${keys.length} key(s)`);
      const page = await fetch(`${base}/smoke/page`);
      const html = await page.text();
      if (page.status !== 200 || !html.includes("<h1>smoke app</h1><p>/smoke/page</p>")) {
        fail(`/smoke/page answered ${page.status}: ${html.slice(0, 200)}`);
      }
      log("proxy: /smoke/page came from the app");
    });
    if (Deno.build.os !== "linux") return;
    const metricsPort = freePort();
    await run(["--workers", "2", "--metrics-address", `127.0.0.1:${metricsPort}`], async (
      base,
      fail,
      output,
    ) => {
      if (!/ workers: +2 \(/.test(output())) fail("the banner does not say 2 workers");
      // Each on a connection of its own, so the kernel picks a worker for each.
      const sets = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const client = Deno.createHttpClient({});
        try {
          sets.add(JSON.stringify(await jwksKeys(base, fail, client)));
        } finally {
          client.close();
        }
      }
      if (sets.size !== 1) fail(`the workers published ${sets.size} different key sets`);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const answered = [1, 2].map((id) =>
        Number(
          new RegExp(`^orygate_worker_requests_total\\{worker="${id}"\\} (\\d+)$`, "m")
            .exec(metrics)?.[1] ?? 0,
        )
      );
      if (answered.some((n) => n === 0)) fail(`a worker answered nothing: ${answered.join(", ")}`);
      log(`proxy --workers 2: both answered (${answered.join(" + ")}), one key set`);
    });
  } finally {
    await app.shutdown();
  }
}

/** What a proxy run checks once it is ready; `fail` throws with the run's output. */
type Check = (
  base: string,
  fail: (what: string) => never,
  output: () => string,
) => Promise<void>;

/** The public keys at `/.ory/jwks.json` (fails unless there are some, without private parts). */
async function jwksKeys(
  base: string,
  fail: (what: string) => never,
  client?: Deno.HttpClient,
): Promise<Record<string, unknown>[]> {
  const jwks = await fetch(`${base}/.ory/jwks.json`, { client });
  const body = await jwks.text();
  let keys: Record<string, unknown>[] = [];
  try {
    keys = JSON.parse(body).keys;
  } catch {
    // reported below
  }
  if (jwks.status !== 200 || !Array.isArray(keys) || keys.length === 0) {
    fail(`/.ory/jwks.json answered ${jwks.status} without keys: ${body.slice(0, 200)}`);
  }
  if (keys.some((k) => !k.kid || !k.kty || "d" in k)) {
    fail(`/.ory/jwks.json has keys without kid/kty or with private parts: ${body.slice(0, 200)}`);
  }
  return keys;
}

/** Starts `proxy` with `extra` flags, waits until ready, runs `check`, then SIGTERM → exit 0. */
async function runProxy(
  command: readonly string[],
  options: SmokeOptions & {
    readonly spawnOptions: Omit<Deno.CommandOptions, "args">;
    readonly appPort: number;
    readonly extra: readonly string[];
    readonly check: Check;
    readonly log: (line: string) => void;
  },
): Promise<void> {
  const [program, ...leading] = command;
  const { log } = options;
  const port = freePort();
  const name = ["proxy", ...options.extra].join(" ");
  const child = new Deno.Command(program, {
    ...options.spawnOptions,
    args: [
      ...leading,
      "proxy",
      `http://127.0.0.1:${options.appPort}`,
      "--sdk-url",
      `http://127.0.0.1:${freePort()}`,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      ...options.extra,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const { promise: ready, resolve: onReady } = Promise.withResolvers<void>();
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      output += decoder.decode(chunk, { stream: true });
      if (output.includes("is ready")) onReady();
    }
  };
  const pumps = Promise.all([read(child.stdout), read(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fail = (what: string): never => {
    throw new Error(`${name}: ${what}\n--- its output ---\n${output}`);
  };
  try {
    const first = await Promise.race([
      ready.then(() => "ready"),
      child.status.then((s) => `exited with ${s.code} before it was ready`),
      new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve("was not ready in time"),
          options.readyTimeoutMs ?? 60_000,
        );
      }),
    ]);
    if (first !== "ready") fail(first);
    log(`${name}: ready on port ${port}`);
    await options.check(`http://127.0.0.1:${port}`, fail, () => output);
    child.kill("SIGTERM");
    const status = await child.status;
    await pumps;
    if (status.code !== 0 || status.signal !== null) {
      fail(`SIGTERM ended it with exit ${status.code} (signal ${status.signal}), not 0`);
    }
    log(`${name}: SIGTERM → exit 0`);
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await pumps.catch(() => {});
  }
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("Usage: deno run -A scripts/smoke.ts <orygate command...>");
    Deno.exit(2);
  }
  try {
    await smoke(Deno.args, { log: (line) => console.log(`smoke: ${line}`) });
    console.log("smoke: ok");
  } catch (err) {
    console.error(`smoke: FAILED ${(err as Error).message}`);
    Deno.exit(1);
  }
}
