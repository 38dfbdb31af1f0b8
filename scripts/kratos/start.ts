/**
 * Starts a throw-away Ory Kratos for tests and the README quick start.
 *
 * Kratos gets a fresh SQLite database in a temporary directory, is migrated, and serves its public
 * API so that the browser reaches it through orygate at `<publish-url>/.ory`; the self-service UI
 * URLs point at the example app through orygate too (`<publish-url>/login`, ...). Everything
 * Kratos prints goes to a log file. If Kratos cannot start, {@link startKratos} throws with the
 * tail of that log: it never skips.
 *
 * As a script it stays up until Ctrl-C:
 *
 * ```sh
 * deno run -A scripts/kratos/start.ts --publish-url http://localhost:4455
 * ```
 *
 * @module
 */

import { startSmtpSink } from "./smtp_sink.ts";

const KRATOS_DIR = new URL(".", import.meta.url);
const CONFIG_FILE = fromFileUrl(new URL("kratos.yml", KRATOS_DIR));
const SCHEMA_URL = new URL("identity.schema.json", KRATOS_DIR).href;
const BUILD_SCRIPT = fromFileUrl(new URL("build.sh", KRATOS_DIR));

/** Options of {@link startKratos}. */
export interface StartKratosOptions {
  /** The URL the browser uses for orygate, e.g. `http://localhost:4455`. Must not hold a path. */
  publishUrl: string;
  /** Port of Kratos's public API on 127.0.0.1. Default: a free port. */
  publicPort?: number;
  /** Port of Kratos's admin API on 127.0.0.1. Default: a free port. */
  adminPort?: number;
  /**
   * The public URL Kratos believes it has. `"publish"` (default): `<publishUrl>/.ory/`, so
   * Kratos itself emits the URLs the browser uses. `"kratos"`: its own `http://127.0.0.1:<port>/`,
   * like Ory Network behind a proxy, so orygate has to rewrite every URL in bodies and redirects.
   */
  baseUrl?: "publish" | "kratos";
  /** Where the self-service UI pages live. Default: `publishUrl` (the example app behind orygate). */
  uiUrl?: string;
  /**
   * File that receives Kratos's output. Default: `kratos.log` in the temporary directory, which
   * {@link KratosServer.stop} removes (and a failed start keeps).
   */
  logFile?: string;
  /** Kratos log level (`trace`, `debug`, `info`, `warning`, `error`). Default: `warning`. */
  logLevel?: string;
  /** The Kratos binary. Default: `$KRATOS_BIN`, else what `scripts/kratos/build.sh` prints. */
  binary?: string;
  /** How long to wait for `/health/ready`, in milliseconds. Default: 30 000. */
  readyTimeoutMs?: number;
  /**
   * Where Kratos's courier delivers mail (verification codes), e.g.
   * `smtp://127.0.0.1:2525/?disable_starttls=true`. Given: Kratos runs with its courier
   * (`--watch-courier`). Default: no courier; messages stay queued in the database.
   */
  smtpUrl?: string;
  /** Extra environment variables for Kratos (config overrides such as `SESSION_LIFESPAN`). */
  env?: Record<string, string>;
}

/** A running Kratos, returned by {@link startKratos}. */
export interface KratosServer {
  /** Kratos's public API as reached directly, e.g. `http://127.0.0.1:4433` (no trailing slash). */
  publicUrl: string;
  /** Kratos's admin API, e.g. `http://127.0.0.1:4434` (no trailing slash). */
  adminUrl: string;
  /** The file with Kratos's output. Removed by {@link KratosServer.stop} unless given by the caller. */
  logFile: string;
  /** Reads the log file (for attaching to a failed test). */
  readLog(): Promise<string>;
  /** SIGTERM, SIGKILL after `graceMs` (default 5 000), then removes the temporary directory. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Builds (if needed), migrates and starts Ory Kratos, and resolves once `/health/ready` answers.
 *
 * @example
 * ```ts ignore
 * const kratos = await startKratos({ publishUrl: "http://localhost:4455" });
 * try {
 *   // orygate proxy http://127.0.0.1:3000 http://localhost:4455 --sdk-url ${kratos.publicUrl}
 * } finally {
 *   await kratos.stop();
 * }
 * ```
 */
export async function startKratos(options: StartKratosOptions): Promise<KratosServer> {
  const publish = parseOrigin("publishUrl", options.publishUrl);
  const ui = parseOrigin("uiUrl", options.uiUrl ?? publish);
  const publicPort = options.publicPort ?? freePort();
  const adminPort = options.adminPort ?? freePort();
  for (const [name, port] of [["publicPort", publicPort], ["adminPort", adminPort]] as const) {
    assertPortFree(name, port);
  }

  const binary = options.binary ?? Deno.env.get("KRATOS_BIN") ?? await buildKratos();
  const dir = await Deno.makeTempDir({ prefix: "orygate-kratos-" });
  const logFile = options.logFile ?? `${dir}/kratos.log`;
  await Deno.writeTextFile(logFile, "");

  const publicUrl = `http://127.0.0.1:${publicPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const env: Record<string, string> = {
    ...passThroughEnv(),
    DSN: `sqlite://${dir}/kratos.sqlite?_fk=true&mode=rwc`,
    LOG_LEVEL: options.logLevel ?? "warning",
    SERVE_PUBLIC_BASE_URL: options.baseUrl === "kratos" ? `${publicUrl}/` : `${publish}/.ory/`,
    SERVE_PUBLIC_HOST: "127.0.0.1",
    SERVE_PUBLIC_PORT: String(publicPort),
    SERVE_ADMIN_BASE_URL: `${adminUrl}/`,
    SERVE_ADMIN_HOST: "127.0.0.1",
    SERVE_ADMIN_PORT: String(adminPort),
    SELFSERVICE_DEFAULT_BROWSER_RETURN_URL: `${publish}/`,
    SELFSERVICE_ALLOWED_RETURN_URLS: `${publish}/`,
    SELFSERVICE_FLOWS_ERROR_UI_URL: `${ui}/error`,
    SELFSERVICE_FLOWS_LOGIN_UI_URL: `${ui}/login`,
    SELFSERVICE_FLOWS_REGISTRATION_UI_URL: `${ui}/registration`,
    SELFSERVICE_FLOWS_SETTINGS_UI_URL: `${ui}/settings`,
    SELFSERVICE_FLOWS_VERIFICATION_UI_URL: `${ui}/verification`,
    SELFSERVICE_FLOWS_LOGOUT_AFTER_DEFAULT_BROWSER_RETURN_URL: `${publish}/`,
    IDENTITY_SCHEMAS: JSON.stringify([{ id: "default", url: SCHEMA_URL }]),
    ...(options.smtpUrl ? { COURIER_SMTP_CONNECTION_URI: options.smtpUrl } : {}),
    ...options.env,
  };

  let child: Deno.ChildProcess | undefined;
  let logsDone: Promise<unknown> = Promise.resolve();
  const removeTemp = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    const migrate = await runLogged(
      binary,
      ["migrate", "sql", "-e", "--yes", "-c", CONFIG_FILE],
      { env, logFile },
    ).status;
    if (!migrate.success) {
      throw new Error(`"kratos migrate sql" exited with code ${migrate.code}`);
    }

    const serve = runLogged(
      binary,
      [
        "serve",
        "-c",
        CONFIG_FILE,
        "--dev",
        `--watch-courier=${options.smtpUrl !== undefined}`,
        "--sqa-opt-out",
      ],
      { env, logFile },
    );
    child = serve.child;
    logsDone = serve.logsDone;
    await waitReady(
      [`${publicUrl}/health/ready`, `${adminUrl}/admin/health/ready`],
      child,
      options.readyTimeoutMs ?? 30_000,
    );
  } catch (error) {
    if (child) await terminate(child, 2_000);
    await logsDone;
    const tail = await logTail(logFile);
    // Keep the log the message points to; drop the rest (the database).
    if (options.logFile) await removeTemp();
    else {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.startsWith("kratos.sqlite")) await Deno.remove(`${dir}/${entry.name}`);
      }
    }
    throw new Error(
      `Cannot start Ory Kratos: ${(error as Error).message}\n` +
        `--- last lines of ${logFile} ---\n${tail}`,
      { cause: error },
    );
  }

  const running = child;
  let stopping: Promise<void> | undefined;
  return {
    publicUrl,
    adminUrl,
    logFile,
    readLog: () => Deno.readTextFile(logFile),
    stop({ graceMs = 5_000 } = {}) {
      stopping ??= (async () => {
        await terminate(running, graceMs);
        await logsDone;
        await removeTemp();
      })();
      return stopping;
    },
  };
}

/** Runs `build.sh`, which builds Kratos once per machine and prints the binary's path. */
async function buildKratos(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [BUILD_SCRIPT],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const path = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  if (!out.success || path === "") {
    throw new Error(`Cannot build Ory Kratos: ${BUILD_SCRIPT} exited with code ${out.code}`);
  }
  return path;
}

/** Spawns a command with stdout and stderr appended to `logFile`. */
function runLogged(
  binary: string,
  args: string[],
  options: { env: Record<string, string>; logFile: string },
): { child: Deno.ChildProcess; logsDone: Promise<unknown>; status: Promise<Deno.CommandStatus> } {
  const child = new Deno.Command(binary, {
    args,
    cwd: fromFileUrl(KRATOS_DIR),
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const append = async (stream: ReadableStream<Uint8Array>) => {
    const file = await Deno.open(options.logFile, { append: true });
    await stream.pipeTo(file.writable);
  };
  const logsDone = Promise.allSettled([append(child.stdout), append(child.stderr)]);
  const status = logsDone.then(() => child.status);
  return { child, logsDone, status };
}

/** Polls the URLs until all answer 200, failing early if the process exits. */
async function waitReady(urls: string[], child: Deno.ChildProcess, timeoutMs: number) {
  let exited: Deno.CommandStatus | undefined;
  child.status.then((status) => exited = status);
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (exited) throw new Error(`"kratos serve" exited with code ${exited.code}`);
    const results = await Promise.all(urls.map(probe));
    last = results.filter((r) => r !== "ok").join("; ");
    if (last === "") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`not ready after ${timeoutMs} ms (${last})`);
}

async function probe(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok ? "ok" : `${url} answered ${response.status}`;
  } catch (error) {
    return `${url}: ${(error as Error).message}`;
  }
}

/** SIGTERM, then SIGKILL if the process is still running after `graceMs`. */
async function terminate(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // Already exited.
    }
  };
  kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  if (await Promise.race([child.status, timedOut]) === "timeout") kill("SIGKILL");
  clearTimeout(timer);
  await child.status;
}

async function logTail(logFile: string, lines = 40): Promise<string> {
  try {
    return (await Deno.readTextFile(logFile)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch (error) {
    return `(cannot read the log: ${(error as Error).message})`;
  }
}

/** The few variables Kratos needs from our environment; the rest could override its config. */
function passThroughEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "TZ"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function parseOrigin(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`Cannot use ${name}: "${value}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Cannot use ${name}: "${value}" is not an http(s) URL`);
  }
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new Error(`Cannot use ${name}: "${value}" must not hold a path, query or fragment`);
  }
  return url.origin;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function assertPortFree(name: string, port: number): void {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch (error) {
    throw new Error(
      `Cannot start Ory Kratos: ${name} ${port} on 127.0.0.1 is taken (${
        (error as Error).message
      })`,
    );
  }
}

function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/**
 * What to run next, as README's quick start has it: the example app, then orygate protecting
 * /members, then the page to open.
 *
 * @example
 * ```ts ignore
 * console.log(nextSteps("http://localhost:4455", "http://127.0.0.1:4433"));
 * ```
 */
export function nextSteps(publishOrigin: string, kratosPublicUrl: string): string {
  const publish = new URL(publishOrigin);
  const port = publish.port || (publish.protocol === "https:" ? "443" : "80");
  return `Next, in two more terminals:
  PORT=3000 ORY_URL=${publish.origin}/.ory deno run -A examples/app/main.ts
  deno run -A src/main.ts proxy http://127.0.0.1:3000 ${publish.origin} --port ${port} \\
    --sdk-url ${kratosPublicUrl} --protect-path-prefix /members
Then open ${publish.origin}/members: sign in or sign up, and you land back there.`;
}

async function main() {
  const values: Record<string, string> = {
    "publish-url": "http://localhost:4455",
    "public-port": "4433",
    "admin-port": "4434",
    "log-level": "warning",
  };
  const args = [...Deno.args];
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg === "-h" || arg === "--help") {
      console.log(
        "Usage: deno run -A scripts/kratos/start.ts [--publish-url http://localhost:4455]\n" +
          "       [--public-port 4433] [--admin-port 4434] [--log-level warning]",
      );
      return;
    }
    const [name, inline] = arg.replace(/^--/, "").split(/=(.*)/s, 2);
    const value = inline ?? args.shift();
    if (!arg.startsWith("--") || !(name in values) || value === undefined) {
      console.error(`Cannot parse the arguments: unknown option or missing value "${arg}"`);
      Deno.exit(2);
    }
    values[name] = value;
  }
  const port = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 65535) {
      console.error(`Cannot parse --${name}: "${value}" is not a port number`);
      Deno.exit(2);
    }
    return n;
  };
  const publishUrl = values["publish-url"];
  // Kratos's mail (verification codes) goes to a local sink and is printed here.
  const sink = await startSmtpSink({
    onMail: (mail) =>
      console.log(
        `\n--- mail to ${mail.to.join(", ")}: ${mail.subject} ---\n${mail.text.trim()}\n`,
      ),
  });
  const kratos = await startKratos({
    publishUrl,
    publicPort: port("public-port", values["public-port"]),
    adminPort: port("admin-port", values["admin-port"]),
    logLevel: values["log-level"],
    smtpUrl: sink.url,
  }).catch(async (error) => {
    await sink.close();
    throw error;
  });
  const publish = new URL(publishUrl).origin;
  console.log(`Ory Kratos is ready (fresh SQLite database; accounts vanish on exit).
  public API:  ${kratos.publicUrl}   (browsers use ${publish}/.ory through orygate)
  admin API:   ${kratos.adminUrl}
  log file:    ${kratos.logFile}
  mail:        printed below (Kratos's courier sends to a sink on 127.0.0.1:${sink.port})

${nextSteps(publish, kratos.publicUrl)}
Press Ctrl-C to stop Kratos.`);

  const { promise, resolve } = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, resolve);
  await promise;
  console.log("Stopping Ory Kratos...");
  await kratos.stop();
  await sink.close();
  Deno.exit(0);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
