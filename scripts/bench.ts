/**
 * `deno task bench`: orygate against nginx on loopback.
 *
 * Starts one nginx (non-daemon, config in a temp dir) with two servers: the upstream, which
 * answers a tiny body (serves a 1 GiB file at `/big`, and echoes the `Authorization` it got at
 * `/auth`), and a `proxy_pass` server in front of it with an `upstream { keepalive 64; }` block,
 * the baseline. Beside nginx runs `scripts/_bench_upstream.ts`, one small Deno process that
 * plays Ory's whoami (for a known session token), an upload sink and an SSE source: nginx can
 * be none of those. The baseline proxies `/upload` and `/sse` to it. In front of the same
 * upstreams, the bench runs:
 *
 * - `cli`: the real `orygate proxy` command, as shipped (with the V8 flags of `_deno_flags.ts`).
 *   (The node:http client it replaced was compared here before; its figures are in
 *   docs/performance.md.)
 *
 * Scenarios (`--scenarios` ids):
 *
 * - `a`: anonymous requests, `wrk -t1 -c32`.
 * - `b`: the same with a valid Ory session cookie, orygate's default flags (whoami cached, a
 *   JWT minted and sent on as `Authorization: Bearer`). Checked once before the load: the
 *   upstream gets a Bearer JWT for the stand-in's identity. Reports whoami calls over the
 *   proxy's life (the cache at work) and req/s relative to anonymous requests on the
 *   same process (alternating runs).
 * - `upload`: 1 GiB PUT through the proxy with curl to the sink, which answers the byte count
 *   it read (checked); MB/s and the proxy's peak RSS (VmHWM).
 * - `download`: 1 GiB through the proxy with curl, MB/s and the proxy's peak RSS.
 * - `metrics`: the cost of counting: load (a) on two orygate processes, one with
 *   `--metrics-address`, one without, in alternating pairs; reports on/off req/s (the issue's
 *   bound: no more than 3 % lost) and checks that the counting one counted.
 * - `logging`: the cost of the default access log: load (a) on two orygate processes, one
 *   with `--quiet`, one writing its access lines (to /dev/null, as a shipper would take them),
 *   in alternating pairs; reports log/quiet req/s (the target: no more than 5 % lost).
 * - `sse`: `--streams` (1000) concurrent event streams, one event per 100 ms each, held for the
 *   wrk duration; events/s in total, event delay p50/p99, the proxy's CPU and RSS. The baseline
 *   proxies them with `proxy_buffering off`.
 * - `workers`: load (a) on one orygate per `--workers` count (`--workers 1,2`, the default),
 *   side by side, in `--pairs` rounds of short wrk runs (`wrk -t2 -c64`, so that one load
 *   thread does not cap several workers), the order rotated each round; reports each one's
 *   req/s and CPU µs per request (all its threads), its req/s over the first count's (median
 *   of the rounds), nginx's CPU µs per request behind it and how busy the host's CPUs were.
 *   `--workers` alone runs only this scenario.
 *
 * Each proxy runs in a fresh process per scenario. Results print as a table and go to
 * `bench-results/<timestamp>.json`.
 *
 * (a) and (b) compare loads in `--pairs` (6) pairs of short wrk runs (a quarter of `--duration`
 * each, at least 2 s) in alternating order, and report the median of the pairs' ratios: on this
 * shared machine whole runs a minute apart differ by ±25 %, adjacent short runs far less.
 *
 * Flags: `--duration 10s` (wrk, and the SSE hold), `--rounds 1` (median over rounds),
 * `--targets cli,ory`, `--scenarios a,b,upload,download,sse,metrics,logging`, `--streams 1000`,
 * `--ory-bin <path>` (or `ORY_PROXY_BIN`): also measure the Go `ory proxy` (target `ory`).
 *
 * Besides requests/s the table shows the proxy's CPU time per request (all its threads, from
 * /proc): on a shared machine it moves less than throughput does.
 *
 * @module
 */

import { V8_FLAGS } from "./_deno_flags.ts";

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  readonly duration: string;
  readonly rounds: number;
  /** Alternating pairs of wrk runs per comparison in (a) and (b). */
  readonly pairs: number;
  readonly targets: readonly ProxyKind[];
  readonly scenarios: readonly string[];
  /** Concurrent streams in the SSE scenario. */
  readonly streams: number;
  /** The Go `ory` binary for the `ory` target (`--ory-bin` or `ORY_PROXY_BIN`). */
  readonly oryBin?: string;
  /** `--workers` counts compared by the `workers` scenario. */
  readonly workers: readonly number[];
}

type ProxyKind = "cli" | "ory";
const ALL_TARGETS: readonly ProxyKind[] = ["cli", "ory"];

function parseOptions(args: readonly string[]): Options {
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const oryBin = get("ory-bin") ?? Deno.env.get("ORY_PROXY_BIN");
  const targets =
    (get("targets")?.split(",") ?? (oryBin ? ["cli", "ory"] : ["cli"])) as ProxyKind[];
  for (const t of targets) {
    if (!ALL_TARGETS.includes(t)) {
      throw new Error(`Cannot bench target "${t}": use ${ALL_TARGETS.join(", ")}`);
    }
    if (t === "ory" && oryBin === undefined) {
      throw new Error('Cannot bench target "ory": give the Go binary with --ory-bin <path>');
    }
  }
  const workersFlag = get("workers");
  const workers = (workersFlag ?? "1,2").split(",").map((w) => Number(w));
  if (!workers.every((n) => Number.isInteger(n) && n >= 1) || new Set(workers).size < 2) {
    throw new Error(
      `Cannot parse --workers: "${workersFlag}" is not two or more counts (e.g. 1,2)`,
    );
  }
  // A mistyped id would otherwise run nothing and print an empty table.
  const ids = SCENARIOS.map((s) => s.id);
  const scenarios = get("scenarios")?.split(",") ??
    (workersFlag !== undefined ? ["workers"] : ids.filter((id) => id !== "workers"));
  for (const id of scenarios) {
    if (!ids.includes(id)) throw new Error(`Cannot bench scenario "${id}": use ${ids.join(", ")}`);
  }
  const rounds = Number(get("rounds") ?? "1");
  if (!(rounds >= 1)) throw new Error(`Cannot parse --rounds: "${get("rounds")}" is not >= 1`);
  const pairs = Number(get("pairs") ?? "6");
  if (!(Number.isInteger(pairs) && pairs >= 1)) {
    throw new Error(`Cannot parse --pairs: "${get("pairs")}" is not a count`);
  }
  const streams = Number(get("streams") ?? "1000");
  if (!(Number.isInteger(streams) && streams >= 1)) {
    throw new Error(`Cannot parse --streams: "${get("streams")}" is not a count`);
  }
  const duration = get("duration") ?? "10s";
  seconds(duration); // fails now rather than after the first scenarios
  return { duration, rounds, pairs, targets, scenarios, streams, oryBin, workers };
}

/** wrk's duration syntax (`10`, `10s`, `2m`, `1h`) in seconds; the SSE hold uses it too. */
function seconds(duration: string): number {
  const m = /^(\d+)([smh]?)$/.exec(duration);
  if (!m) throw new Error(`Cannot parse --duration: "${duration}" (use e.g. 10s or 2m)`);
  return Number(m[1]) * (m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1);
}

// ---------------------------------------------------------------------------------------------
// Processes

const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `promise` at most `ms`; false when time ran out. Its timer does not outlive it. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return await Promise.resolve(port);
}

async function waitForHttp(url: string, child?: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  let exited = false;
  child?.status.then(() => exited = true);
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${url}: the process exited before answering`);
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`${url} did not answer within 20s`);
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone meanwhile
    }
  }, 5000);
  await child.status;
  clearTimeout(timer);
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** CPU time a process has used (user + system, all threads), in milliseconds. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime in 1/100 s
}

/** Peak and current resident memory of a process, in MiB. */
async function memory(pid: number): Promise<{ peakMiB: number; rssMiB: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)![1]);
  return { peakMiB: kib("VmHWM") / 1024, rssMiB: kib("VmRSS") / 1024 };
}

// ---------------------------------------------------------------------------------------------
// The Deno stand-ins (scripts/_bench_upstream.ts): Ory's whoami, an upload sink, an SSE source

/** The one session the stand-in knows; (b) sends it as Ory's session cookie. */
const SESSION_TOKEN = `bench-${crypto.randomUUID()}`;
const IDENTITY_ID = crypto.randomUUID();

interface Helper {
  readonly url: string;
  /** Whoami calls answered so far, and SSE streams open right now. */
  stats(): Promise<{ whoami: number; streams: number }>;
  stop(): Promise<void>;
}

async function startHelper(): Promise<Helper> {
  const port = await freePort();
  const child = new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      `${ROOT}scripts/_bench_upstream.ts`,
      "--port",
      String(port),
      "--token",
      SESSION_TOKEN,
      "--identity",
      IDENTITY_ID,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url + "/stats", child);
  return {
    url,
    stats: async () => await (await fetch(url + "/stats")).json(),
    stop: () => stop(child),
  };
}

// ---------------------------------------------------------------------------------------------
// nginx: the upstream and the baseline

interface Nginx {
  readonly upstreamUrl: string;
  readonly baselineUrl: string;
  /** The one worker: in the SSE scenario it does nothing but proxy, so its CPU is comparable. */
  readonly workerPid: number;
  stop(): Promise<void>;
}

/** The 1 GiB file nginx serves for `download`; curl sends it for `upload`. */
const bigFile = (dir: string) => `${dir}/big.bin`;

async function startNginx(dir: string, helperUrl: string): Promise<Nginx> {
  const upstreamPort = await freePort();
  const baselinePort = await freePort();
  await Deno.chmod(dir, 0o755); // nginx workers run as nobody
  const big = await Deno.open(bigFile(dir), { create: true, write: true });
  await big.truncate(1024 * 1024 * 1024); // sparse: served from the page cache
  big.close();
  await Deno.chmod(bigFile(dir), 0o644);
  const conf = `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${upstreamPort};
    location / { default_type text/plain; return 200 "ok\\n"; }
    location = /big { alias ${bigFile(dir)}; }
    # What the application was sent as Authorization: (b) checks that it is orygate's JWT.
    location = /auth { default_type text/plain; return 200 "$http_authorization"; }
  }
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  upstream helper { server ${new URL(helperUrl).host}; keepalive 64; }
  server {
    listen 127.0.0.1:${baselinePort};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location / { proxy_pass http://app; }
    # Streamed on as it arrives, as orygate does (buffering would spool 1 GiB to disk first).
    location = /upload {
      client_max_body_size 0;
      proxy_request_buffering off;
      proxy_pass http://helper;
    }
    # Each event goes out when it comes in.
    location = /sse { proxy_buffering off; proxy_pass http://helper; }
  }
}
`;
  await Deno.writeTextFile(`${dir}/nginx.conf`, conf);
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  try {
    await waitForHttp(upstreamUrl + "/", child);
    await waitForHttp(baselineUrl + "/", child);
  } catch (err) {
    await stop(child);
    throw err;
  }
  // With `daemon off` the child is the master; the worker that answered is its only child.
  const children = await Deno.readTextFile(`/proc/${child.pid}/task/${child.pid}/children`);
  const workerPid = Number(children.trim().split(" ")[0]);
  return { upstreamUrl, baselineUrl, workerPid, stop: () => stop(child) };
}

// ---------------------------------------------------------------------------------------------
// orygate

interface Proxy {
  readonly kind: ProxyKind;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const TARGET_LABEL: Record<ProxyKind | "nginx", string> = {
  nginx: "nginx proxy_pass",
  cli: "orygate CLI",
  ory: "ory proxy (Go)",
};

/** Where a proxy sends requests: the application, and Ory (by default nothing: anonymous only). */
interface ProxyUpstreams {
  readonly app: string;
  readonly sdkUrl?: string;
}

/**
 * Starts the Go `ory proxy` (v0.3.x reads ORY_SDK_URL; later versions need an Ory Network
 * project). With `--quiet` it neither asks to sign in nor needs stdin; HOME is an empty
 * directory so no saved Ory config is read. It asks Ory's whoami on every request, so it is
 * always given the stand-in as its Ory (a dead port costs it retries per request).
 */
async function startOryProxy(bin: string, upstreams: ProxyUpstreams, sdkUrl: string) {
  const port = await freePort();
  const home = await Deno.makeTempDir({ prefix: "orygate-bench-ory-home-" });
  const child = new Deno.Command(bin, {
    args: ["proxy", upstreams.app, "--port", String(port), "--quiet"],
    env: { HOME: home, ORY_SDK_URL: sdkUrl, PATH: Deno.env.get("PATH") ?? "" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stopAll = async () => {
    await stop(child);
    await Deno.remove(home, { recursive: true }).catch(() => {});
  };
  try {
    await waitForHttp(url + "/", child);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { kind: "ory" as const, url, pid: child.pid, stop: stopAll };
}

async function startProxy(
  kind: ProxyKind,
  upstreams: ProxyUpstreams,
  ctx: Context,
  extraArgs: readonly string[] = [],
  /** Write the access log (to /dev/null, as a log shipper would take it away) instead of --quiet. */
  logging = false,
): Promise<Proxy> {
  if (kind === "ory") {
    return await startOryProxy(ctx.options.oryBin!, upstreams, upstreams.sdkUrl ?? ctx.helper.url);
  }
  const port = await freePort();
  const sdkUrl = upstreams.sdkUrl ?? `http://127.0.0.1:${await freePort()}`;
  const args = [
    "run",
    "-A",
    // As the compiled binaries and the npm package run it.
    ...V8_FLAGS,
    `${ROOT}src/main.ts`,
    "proxy",
    upstreams.app,
    "--sdk-url",
    sdkUrl,
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    ...(logging ? [] : ["--quiet"]),
    ...extraArgs,
  ];
  const child = new Deno.Command(DENO, {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: logging ? "null" : "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(url + "/", child);
  } catch (err) {
    await stop(child);
    throw err;
  }
  return { kind, url, pid: child.pid, stop: () => stop(child) };
}

// ---------------------------------------------------------------------------------------------
// Load generators

interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors. */
  readonly errors: number;
}

async function wrk(
  url: string,
  duration: string,
  headers: string[] = [],
  load: { readonly threads: number; readonly connections: number } = {
    threads: 1,
    connections: 32,
  },
): Promise<WrkResult> {
  const out = await run("wrk", [
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${duration}`,
    "--latency",
    ...headers.flatMap((h) => ["-H", h]),
    url,
  ]);
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
    if (!m) throw new Error(`wrk output without ${label}:\n${out}`);
    return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    requests: Number(/(\d+) requests in/.exec(out)![1]),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p50Ms: ms("50%"),
    p99Ms: ms("99%"),
    errors: non2xx + socketErrors,
  };
}

async function download(url: string): Promise<{ bytes: number; seconds: number }> {
  const out = await run("curl", [
    "-sS",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download} %{time_total}",
    url,
  ]);
  const [code, bytes, seconds] = out.trim().split(" ");
  if (code !== "200") throw new Error(`download from ${url} answered ${code}`);
  return { bytes: Number(bytes), seconds: Number(seconds) };
}

/** PUTs `file` to the sink behind `url`; the bytes counted are the ones the sink read. */
async function upload(url: string, file: string): Promise<{ bytes: number; seconds: number }> {
  const out = await run("curl", [
    "-sS",
    "-T",
    file,
    // Without this curl sends `Expect: 100-continue` and may wait up to 1 s for the go-ahead:
    // a stall, not throughput.
    "-H",
    "Expect:",
    "-w",
    "\n%{http_code} %{size_upload} %{time_total}",
    url,
  ]);
  const status = out.lastIndexOf("\n");
  const read = out.slice(0, status);
  const [code, sent, seconds] = out.slice(status + 1).split(" ");
  if (code !== "200") throw new Error(`upload to ${url} answered ${code}`);
  if (read !== sent) {
    throw new Error(`upload to ${url}: curl sent ${sent} bytes, the sink read ${read}`);
  }
  return { bytes: Number(read), seconds: Number(seconds) };
}

/** One event stream as the SSE load generator sees it. */
interface SseStream {
  lastEventAt: number;
  /** Why it failed or ended before the bench closed it. */
  error?: string;
  conn?: Deno.TcpConn;
}

/** Many event streams, open until `close`. */
interface SseLoad {
  readonly streams: readonly SseStream[];
  /** Events seen while `counting`, and how late each was (ms after the source sent it). */
  events: number;
  delays: number[];
  counting: boolean;
  close(): Promise<void>;
}

/** Milliseconds since the epoch with sub-ms precision; the SSE source stamps events with it. */
const preciseNow = () => performance.timeOrigin + performance.now();

/**
 * Opens `n` streams. They go out in batches of 100, each once the last has its first event, so
 * the proxy's accept queue does not overflow into SYN retries (a second's stall each).
 *
 * The client is raw HTTP/1.1 over `Deno.connect`: with `fetch`, 1000 streams cost the bench
 * ~70 % of a core (5x this), taken from the proxy on a 2-core machine, and an aborted
 * `fetch` body read stays pending for seconds.
 */
async function openSse(url: string, n: number): Promise<SseLoad> {
  let closing = false;
  const streams: SseStream[] = [];
  const running: Promise<void>[] = [];
  const load: SseLoad = {
    streams,
    events: 0,
    delays: [],
    counting: false,
    async close() {
      closing = true;
      for (const s of streams) closeQuietly(s.conn);
      if (!await within(Promise.allSettled(running), 10_000)) {
        console.error(`sse via ${url}: streams still open 10 s after closing`);
      }
    },
  };
  for (let i = 0; i < n; i += 100) {
    const opened: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 100); j++) {
      const stream: SseStream = { lastEventAt: 0 };
      let first!: () => void;
      opened.push(new Promise((r) => first = r));
      streams.push(stream);
      running.push(
        follow(new URL(url), stream, load, () => first(), () => closing)
          .catch((err) => {
            if (!closing) stream.error = err instanceof Error ? err.message : `${err}`;
          })
          .finally(() => first()),
      );
    }
    await within(Promise.all(opened), 10_000); // the laggards count as not held
  }
  return load;
}

function closeQuietly(conn: Deno.TcpConn | undefined): void {
  try {
    conn?.close();
  } catch {
    // closed already
  }
}

/** Reads one stream until it fails or is closed, counting its events into `load`. */
async function follow(
  url: URL,
  stream: SseStream,
  load: SseLoad,
  onEvent: () => void,
  closing: () => boolean,
): Promise<void> {
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  stream.conn = conn;
  if (closing()) return closeQuietly(conn); // closed while this one connected
  const request = `GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    "accept: text/event-stream\r\n\r\n";
  await conn.write(new TextEncoder().encode(request));
  const buffer = new Uint8Array(16 * 1024);
  const decoder = new TextDecoder();
  const http = new Http1Body();
  let body = "";
  for (let got = await conn.read(buffer); got !== null; got = await conn.read(buffer)) {
    body += http.push(decoder.decode(buffer.subarray(0, got), { stream: true }));
    for (let end = body.indexOf("\n\n"); end !== -1; end = body.indexOf("\n\n")) {
      const sentAt = Number(body.slice("data: ".length, end));
      body = body.slice(end + 2);
      const now = preciseNow();
      stream.lastEventAt = now;
      if (load.counting) {
        load.events++;
        load.delays.push(now - sentAt);
      }
      onEvent();
    }
  }
  if (!closing()) throw new Error("the proxy closed the stream");
}

/** An HTTP/1.1 response's body text, from its wire text: the head checked, chunking undone. */
class Http1Body {
  #wire = "";
  #head = true;
  #chunked = false;
  /** Bytes left in the current chunk; -1: the CRLF that ends it comes next. */
  #left = 0;

  /** Takes more wire text; returns the body text it completes. */
  push(text: string): string {
    this.#wire += text;
    if (this.#head) {
      const end = this.#wire.indexOf("\r\n\r\n");
      if (end === -1) return "";
      const head = this.#wire.slice(0, end);
      if (!head.startsWith("HTTP/1.1 200 ")) throw new Error(`answered "${head.split("\r\n")[0]}"`);
      this.#chunked = /^transfer-encoding:\s*chunked\s*$/im.test(head);
      this.#wire = this.#wire.slice(end + 4);
      this.#head = false;
    }
    if (!this.#chunked) {
      const body = this.#wire;
      this.#wire = "";
      return body;
    }
    let body = "";
    for (;;) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, this.#wire.length);
        body += this.#wire.slice(0, take);
        this.#wire = this.#wire.slice(take);
        this.#left -= take;
        if (this.#left > 0) return body;
        this.#left = -1;
      }
      if (this.#left === -1) {
        if (this.#wire.length < 2) return body;
        this.#wire = this.#wire.slice(2);
        this.#left = 0;
      }
      const eol = this.#wire.indexOf("\r\n");
      if (eol === -1) return body;
      this.#left = parseInt(this.#wire.slice(0, eol), 16);
      this.#wire = this.#wire.slice(eol + 2);
      if (!(this.#left > 0)) {
        throw new Error(this.#left === 0 ? "the stream ended" : "a malformed chunk size");
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

/** One measured line of the report. */
interface Row {
  readonly scenario: string;
  readonly target: ProxyKind | "nginx";
  /** Which configuration of the target (`metrics`: `metrics off` / `metrics on`). */
  readonly variant?: string;
  /** For `sse`: the source's event interval is fixed, so see `eventsPerSec` instead. */
  readonly rps?: number;
  /** Latency percentiles; for `sse`, how late events arrived. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Failed requests; for `sse`, streams not held to the end. */
  readonly errors?: number;
  /** Requests per second relative to nginx: the median over alternating pairs of runs. */
  readonly ratio?: number;
  /** Each pair's ratio to nginx (JSON only: the spread behind `ratio`). */
  readonly pairRatios?: number[];
  /** (b): session over anonymous requests, alternating runs on the same process. */
  readonly anonRatio?: number;
  readonly anonPairRatios?: number[];
  /** `metrics`: req/s with `--metrics-address` over without (median of alternating pairs). */
  readonly metricsRatio?: number;
  readonly metricsPairRatios?: number[];
  /** `logging`: req/s with the access log over `--quiet` (median of alternating pairs). */
  readonly loggingRatio?: number;
  readonly loggingPairRatios?: number[];
  /** `workers`: req/s over the first `--workers` count's, the median of the rounds. */
  readonly workersRatio?: number;
  readonly workersRoundRatios?: number[];
  /** `workers`: nginx's CPU time per request behind this proxy, in microseconds. */
  readonly nginxUsPerReq?: number;
  /** `workers`: how busy the host's CPUs were during the runs, in % of all of them. */
  readonly hostBusyPercent?: number;
  /** (b): Ory session checks over the proxy's whole life (the check, warm-up and load). */
  readonly whoamiCalls?: number;
  /** The proxy's CPU time per request, in microseconds. */
  readonly cpuUsPerReq?: number;
  /** `sse`: the proxy's CPU use while holding the streams, in % of one core. */
  readonly cpuPercent?: number;
  readonly mbPerSec?: number;
  /** `sse`: streams open and still receiving at the end. */
  readonly streams?: number;
  /** `sse`: events received per second, all streams together. */
  readonly eventsPerSec?: number;
  /** `sse`: the proxy's resident memory with the streams open. */
  readonly rssMiB?: number;
  /** The proxy's peak resident memory over its whole life (VmHWM). */
  readonly peakRssMiB?: number;
  /** Resident memory just before the scenario's load. */
  readonly idleRssMiB?: number;
}

interface Context {
  readonly options: Options;
  readonly nginx: Nginx;
  readonly helper: Helper;
  readonly dir: string;
}

interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: Context): Promise<Row[]>;
}

/**
 * Runs one target's measurement; a failure becomes a row with `errors: 1` (and the reason on
 * stderr) instead of ending the whole bench: a proxy that cannot carry a 1 GiB upload is a
 * finding, not a harness error.
 */
async function orFailure(
  scenario: string,
  kind: ProxyKind,
  fn: () => Promise<Row>,
): Promise<Row> {
  try {
    return await fn();
  } catch (err) {
    console.error(`${scenario} ${kind}: failed: ${err instanceof Error ? err.message : err}`);
    return { scenario, target: kind, errors: 1 };
  }
}

/** Starts a fresh proxy of `kind` (in front of nginx by default), runs `fn`, and stops it. */
async function withProxy<T>(
  kind: ProxyKind,
  ctx: Context,
  fn: (proxy: Proxy) => Promise<T>,
  upstreams: ProxyUpstreams = { app: ctx.nginx.upstreamUrl },
): Promise<T> {
  const proxy = await startProxy(kind, upstreams, ctx);
  try {
    return await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

/** One side of an alternation: what wrk loads, and whose CPU time is counted (a proxy's). */
interface Load {
  readonly url: string;
  readonly headers?: string[];
  readonly pid?: number;
}

/** wrk runs of one load, and the CPU time its process spent in them. */
interface Runs {
  readonly results: WrkResult[];
  cpuMs: number;
}

/** A load's runs in one row: median req/s and latencies, errors summed, CPU per request. */
function summarize(runs: Runs, counted: boolean) {
  const requests = runs.results.reduce((sum, r) => sum + r.requests, 0);
  return {
    rps: median(runs.results.map((r) => r.rps)),
    p50Ms: median(runs.results.map((r) => r.p50Ms)),
    p99Ms: median(runs.results.map((r) => r.p99Ms)),
    errors: runs.results.reduce((sum, r) => sum + r.errors, 0),
    cpuUsPerReq: counted ? (runs.cpuMs * 1000) / requests : undefined,
  };
}

/**
 * Compares two loads on this noisy machine: `--pairs` pairs of short wrk runs, in alternating
 * order (a then b, b then a, …) so a drift in the host's speed favours neither side. The ratio
 * is the median over the pairs of b's requests over a's. Whole runs minutes apart differ by
 * ±25 % here, more than most differences being measured; in one pair (a few seconds) far less.
 */
async function alternate(a: Load, b: Load, options: Options) {
  const slice = `${Math.max(2, Math.round(seconds(options.duration) / 4))}s`;
  const runs = { a: { results: [], cpuMs: 0 } as Runs, b: { results: [], cpuMs: 0 } as Runs };
  const once = async (load: Load, into: Runs) => {
    const before = load.pid === undefined ? 0 : await cpuMs(load.pid);
    const result = await wrk(load.url, slice, load.headers);
    if (load.pid !== undefined) into.cpuMs += await cpuMs(load.pid) - before;
    into.results.push(result);
    return result.requests;
  };
  const ratios: number[] = [];
  for (let i = 0; i < options.pairs; i++) {
    if (i % 2 === 0) {
      const ra = await once(a, runs.a);
      ratios.push(await once(b, runs.b) / ra);
    } else {
      const rb = await once(b, runs.b);
      ratios.push(rb / await once(a, runs.a));
    }
  }
  return { a: runs.a, b: runs.b, ratio: median(ratios), ratios };
}

/** Loads a proxy for a few seconds before measuring: JIT, pools. */
const warmUp = (url: string, headers?: string[]) => wrk(url, "3s", headers);

/**
 * Rows for nginx and for each target under the same load (`headers`). `measure` gets a fresh
 * proxy and `compare`, which warms it up, alternates it with nginx and returns its part of the
 * row; nginx's row gathers its runs against every target.
 */
async function versusNginx(
  ctx: Context,
  scenario: string,
  headers: string[] | undefined,
  measure: (proxy: Proxy, compare: () => Promise<Partial<Row>>) => Promise<Row>,
  upstreams?: ProxyUpstreams,
): Promise<Row[]> {
  const nginx: Load = { url: ctx.nginx.baselineUrl + "/", headers };
  await wrk(nginx.url, "2s", headers); // warm-up
  const nginxRuns: Runs = { results: [], cpuMs: 0 };
  const rows: Row[] = [];
  for (const kind of ctx.options.targets) {
    rows.push(
      await withProxy(kind, ctx, (proxy) =>
        measure(proxy, async () => {
          const load: Load = { url: proxy.url + "/", headers, pid: proxy.pid };
          await warmUp(load.url, headers);
          const alt = await alternate(nginx, load, ctx.options);
          nginxRuns.results.push(...alt.a.results);
          const { peakMiB } = await memory(proxy.pid);
          return {
            ...summarize(alt.b, true),
            ratio: alt.ratio,
            pairRatios: alt.ratios,
            peakRssMiB: peakMiB,
          };
        }), upstreams),
    );
  }
  return [{ scenario, target: "nginx", ...summarize(nginxRuns, false), ratio: 1 }, ...rows];
}

const anonymous: Scenario = {
  id: "a",
  title: "(a) anonymous GET, tiny body, wrk -t1 -c32",
  run: (ctx) =>
    versusNginx(ctx, "a", undefined, async (proxy, compare) => ({
      scenario: "a",
      target: proxy.kind,
      ...await compare(),
    })),
};

const SESSION_COOKIE = `Cookie: ory_kratos_session=${SESSION_TOKEN}`;

/**
 * Fails unless a request with the session cookie reaches the application with a Bearer JWT for
 * the stand-in's identity: the load that follows then runs the whole session path.
 */
async function checkSessionJwt(proxyUrl: string): Promise<void> {
  const res = await fetch(proxyUrl + "/auth", {
    headers: { cookie: SESSION_COOKIE.slice("Cookie: ".length) },
  });
  const authorization = await res.text();
  const payload = /^Bearer [\w-]+\.([\w-]+)\.[\w-]+$/.exec(authorization)?.[1];
  const claims = payload && JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/")));
  if (res.status !== 200 || claims?.sub !== IDENTITY_ID) {
    throw new Error(
      `(b): the application did not get a JWT for the session: ${res.status} ` +
        `"${authorization.slice(0, 80)}"`,
    );
  }
}

const session: Scenario = {
  id: "b",
  title: "(b) GET with an Ory session cookie (whoami cached, JWT minted), wrk -t1 -c32",
  run: (ctx) =>
    versusNginx(ctx, "b", [SESSION_COOKIE], async (proxy, compare) => {
      const started = performance.now();
      const before = (await ctx.helper.stats()).whoami;
      await checkSessionJwt(proxy.url);
      const measured = await compare();
      // The same process, anonymous against session requests.
      const vsAnon = await alternate(
        { url: proxy.url + "/", pid: proxy.pid },
        { url: proxy.url + "/", headers: [SESSION_COOKIE], pid: proxy.pid },
        ctx.options,
      );
      const whoamiCalls = (await ctx.helper.stats()).whoami - before;
      // Cached for 10 s by default: one call, then one per 10 s. Many more means no cache.
      const expected = 1 + Math.ceil((performance.now() - started) / 10_000);
      if (whoamiCalls > expected + 1) {
        console.error(`(b) ${proxy.kind}: ${whoamiCalls} whoami calls, expected ~${expected}`);
      }
      return {
        scenario: "b",
        target: proxy.kind,
        ...measured,
        anonRatio: vsAnon.ratio,
        anonPairRatios: vsAnon.ratios,
        whoamiCalls,
      };
    }, { app: ctx.nginx.upstreamUrl, sdkUrl: ctx.helper.url }),
};

/**
 * Sends 1 GiB through nginx, then through each target (a fresh proxy each): MB/s, and the
 * proxy's memory before and at its peak. The receiving side's byte count must be exact.
 */
async function gibThrough(
  ctx: Context,
  scenario: string,
  send: (base: string) => Promise<{ bytes: number; seconds: number }>,
  upstreams?: ProxyUpstreams,
): Promise<Row[]> {
  const baseline = await send(ctx.nginx.baselineUrl);
  const rows: Row[] = [{
    scenario,
    target: "nginx",
    mbPerSec: baseline.bytes / baseline.seconds / 1e6,
  }];
  for (const kind of ctx.options.targets) {
    rows.push(
      await orFailure(scenario, kind, () =>
        withProxy(kind, ctx, async (proxy) => {
          const idle = await memory(proxy.pid);
          const { bytes, seconds } = await send(proxy.url);
          if (bytes !== 1024 * 1024 * 1024) throw new Error(`${kind}: ${bytes} bytes arrived`);
          const after = await memory(proxy.pid);
          return {
            scenario,
            target: kind,
            mbPerSec: bytes / seconds / 1e6,
            peakRssMiB: after.peakMiB,
            idleRssMiB: idle.rssMiB,
          };
        }, upstreams)),
    );
  }
  return rows;
}

const bigUpload: Scenario = {
  id: "upload",
  title: "1 GiB upload through the proxy (curl -T) to a sink that counts it",
  async run(ctx) {
    const file = bigFile(ctx.dir);
    await upload(ctx.helper.url + "/upload", file); // warm-up: the sink's JIT (3x slower cold)
    return await gibThrough(ctx, "upload", (base) => upload(base + "/upload", file), {
      app: ctx.helper.url,
    });
  },
};

const bigDownload: Scenario = {
  id: "download",
  title: "1 GiB download through the proxy (curl)",
  run: (ctx) => gibThrough(ctx, "download", (base) => download(base + "/big")),
};

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/**
 * Holds `--streams` event streams through the proxy at `url` (process `pid`) for the wrk
 * duration, after a second to settle, and measures what arrived and what the proxy spent.
 */
async function holdSse(ctx: Context, url: string, pid: number) {
  const idle = await memory(pid);
  const load = await openSse(url, ctx.options.streams);
  try {
    await sleep(1000);
    const cpuBefore = await cpuMs(pid);
    const started = preciseNow();
    load.counting = true;
    await sleep(seconds(ctx.options.duration) * 1000);
    load.counting = false;
    const elapsed = preciseNow() - started;
    const cpu = await cpuMs(pid) - cpuBefore;
    const { rssMiB, peakMiB } = await memory(pid);
    const end = preciseNow();
    const held = load.streams.filter((s) => s.error === undefined && s.lastEventAt > end - 1000);
    const failed = load.streams.find((s) => s.error !== undefined);
    if (failed) console.error(`sse via ${url}: a stream failed: ${failed.error}`);
    return {
      streams: held.length,
      errors: load.streams.length - held.length,
      eventsPerSec: load.events / elapsed * 1000,
      p50Ms: percentile(load.delays, 0.5),
      p99Ms: percentile(load.delays, 0.99),
      cpuPercent: cpu / elapsed * 100,
      rssMiB,
      peakRssMiB: peakMiB,
      idleRssMiB: idle.rssMiB,
    };
  } finally {
    await load.close();
    await upstreamStreamsClosed(ctx.helper);
  }
}

/** Waits for the SSE source to see every stream closed, so runs do not overlap. */
async function upstreamStreamsClosed(helper: Helper): Promise<void> {
  const deadline = Date.now() + 10_000;
  let open = (await helper.stats()).streams;
  while (open > 0 && Date.now() < deadline) {
    await sleep(100);
    open = (await helper.stats()).streams;
  }
  if (open > 0) {
    console.error(`sse: ${open} upstream streams still open 10 s after the clients left`);
  }
}

const sse: Scenario = {
  id: "sse",
  title: "many concurrent SSE streams (one event per 100 ms each)",
  async run(ctx) {
    const rows: Row[] = [];
    const nginx = await holdSse(ctx, ctx.nginx.baselineUrl + "/sse", ctx.nginx.workerPid);
    // The worker's peak covers the whole bench, not this scenario.
    rows.push({ scenario: "sse", target: "nginx", ...nginx, peakRssMiB: undefined });
    for (const kind of ctx.options.targets) {
      rows.push(
        await withProxy(kind, ctx, async (proxy) => {
          return {
            scenario: "sse",
            target: kind,
            ...await holdSse(ctx, proxy.url + "/sse", proxy.pid),
          };
        }, { app: ctx.helper.url }),
      );
    }
    return rows;
  },
};

const metricsCost: Scenario = {
  id: "metrics",
  title: "(a) with --metrics-address against without, alternating pairs, wrk -t1 -c32",
  async run(ctx) {
    const upstreams = { app: ctx.nginx.upstreamUrl };
    const metricsPort = await freePort();
    const off = await startProxy("cli", upstreams, ctx);
    try {
      const on = await startProxy("cli", upstreams, ctx, [
        "--metrics-address",
        `127.0.0.1:${metricsPort}`,
      ]);
      try {
        await warmUp(off.url + "/");
        await warmUp(on.url + "/");
        const alt = await alternate(
          { url: off.url + "/", pid: off.pid },
          { url: on.url + "/", pid: on.pid },
          ctx.options,
        );
        const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const counted = Number(
          /^orygate_requests_total\{route="app",method="GET",code="200"\} (\d+)$/m.exec(scraped)
            ?.[1] ?? 0,
        );
        const sent = alt.b.results.reduce((sum, r) => sum + r.requests, 0);
        if (counted < sent) {
          throw new Error(`metrics: ${counted} requests counted, wrk sent at least ${sent}`);
        }
        return [
          { scenario: "metrics", target: "cli", variant: "metrics off", ...summarize(alt.a, true) },
          {
            scenario: "metrics",
            target: "cli",
            variant: "metrics on",
            ...summarize(alt.b, true),
            metricsRatio: alt.ratio,
            metricsPairRatios: alt.ratios,
          },
        ];
      } finally {
        await on.stop();
      }
    } finally {
      await off.stop();
    }
  },
};

const loggingCost: Scenario = {
  id: "logging",
  title: "(a) with the default access log against --quiet, alternating pairs, wrk -t1 -c32",
  async run(ctx) {
    const upstreams = { app: ctx.nginx.upstreamUrl };
    const quiet = await startProxy("cli", upstreams, ctx);
    try {
      const logging = await startProxy("cli", upstreams, ctx, [], true);
      try {
        await warmUp(quiet.url + "/");
        await warmUp(logging.url + "/");
        const alt = await alternate(
          { url: quiet.url + "/", pid: quiet.pid },
          { url: logging.url + "/", pid: logging.pid },
          ctx.options,
        );
        return [
          { scenario: "logging", target: "cli", variant: "--quiet", ...summarize(alt.a, true) },
          {
            scenario: "logging",
            target: "cli",
            variant: "access log",
            ...summarize(alt.b, true),
            loggingRatio: alt.ratio,
            loggingPairRatios: alt.ratios,
          },
        ];
      } finally {
        await logging.stop();
      }
    } finally {
      await quiet.stop();
    }
  },
};

/** Busy and total CPU time of the whole host, from /proc/stat (in clock ticks). */
async function hostCpu(): Promise<{ busy: number; total: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.split(/\s+/).slice(1, 9)
    .map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

const workersScaling: Scenario = {
  id: "workers",
  title: "(a) with --workers 1 and more, rounds in rotating order, wrk -t2 -c64",
  async run(ctx) {
    const counts = ctx.options.workers;
    const load = { threads: 2, connections: 64 };
    const slice = `${Math.max(2, Math.round(seconds(ctx.options.duration) / 4))}s`;
    const proxies: Proxy[] = [];
    try {
      for (const n of counts) {
        proxies.push(
          await startProxy("cli", { app: ctx.nginx.upstreamUrl }, ctx, ["--workers", String(n)]),
        );
      }
      for (const p of proxies) await wrk(p.url + "/", "3s", [], load); // warm-up: JIT, pools
      const runs = counts.map(() => ({
        results: [] as WrkResult[],
        cpuMs: 0,
        nginxMs: 0,
        busy: 0,
        total: 0,
      }));
      const ratios = counts.map(() => [] as number[]);
      for (let round = 0; round < ctx.options.pairs; round++) {
        const rps: number[] = [];
        for (let k = 0; k < counts.length; k++) {
          const i = (k + round) % counts.length; // rotated: no count always goes first
          const before = {
            cpu: await cpuMs(proxies[i].pid),
            nginx: await cpuMs(ctx.nginx.workerPid),
            host: await hostCpu(),
          };
          const result = await wrk(proxies[i].url + "/", slice, [], load);
          const host = await hostCpu();
          runs[i].cpuMs += await cpuMs(proxies[i].pid) - before.cpu;
          runs[i].nginxMs += await cpuMs(ctx.nginx.workerPid) - before.nginx;
          runs[i].busy += host.busy - before.host.busy;
          runs[i].total += host.total - before.host.total;
          runs[i].results.push(result);
          rps[i] = result.rps;
        }
        for (let i = 0; i < counts.length; i++) ratios[i].push(rps[i] / rps[0]);
      }
      return counts.map((n, i) => {
        const requests = runs[i].results.reduce((sum, r) => sum + r.requests, 0);
        return {
          scenario: "workers",
          target: "cli" as const,
          variant: `--workers ${n}`,
          ...summarize(runs[i], true),
          workersRatio: median(ratios[i]),
          workersRoundRatios: ratios[i],
          nginxUsPerReq: runs[i].nginxMs * 1000 / requests,
          hostBusyPercent: runs[i].busy / runs[i].total * 100,
        };
      });
    } finally {
      for (const p of proxies) await p.stop();
    }
  },
};

const SCENARIOS: readonly Scenario[] = [
  anonymous,
  session,
  bigUpload,
  bigDownload,
  sse,
  metricsCost,
  loggingCost,
  workersScaling,
];

// ---------------------------------------------------------------------------------------------
// Report

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median of every numeric field across rounds, per scenario and target. */
function combine(rounds: Row[][]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of rounds.flat()) {
    const key = `${row.scenario}\0${row.target}\0${row.variant ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((rows) => {
    const out: Record<string, unknown> = {
      scenario: rows[0].scenario,
      target: rows[0].target,
      variant: rows[0].variant,
    };
    for (const field of Object.keys(rows[0]) as (keyof Row)[]) {
      if (typeof rows[0][field] === "number") {
        out[field] = median(rows.map((r) => r[field] as number));
      }
    }
    return out as unknown as Row;
  });
}

const fmt = (v: number | undefined, digits: number) => v === undefined ? "" : v.toFixed(digits);

/** The table's columns; one that is empty in every row is left out. */
const COLUMNS: readonly (readonly [string, (r: Row) => string])[] = [
  ["scenario", (r) => r.scenario],
  ["target", (r) => TARGET_LABEL[r.target] + (r.variant ? `, ${r.variant}` : "")],
  ["req/s", (r) => fmt(r.rps, 0)],
  ["p50 ms", (r) => fmt(r.p50Ms, 2)],
  ["p99 ms", (r) => fmt(r.p99Ms, 2)],
  ["× nginx", (r) => fmt(r.ratio, 2)],
  ["× anon", (r) => fmt(r.anonRatio, 2)],
  ["metrics on/off", (r) => fmt(r.metricsRatio, 3)],
  ["log/quiet", (r) => fmt(r.loggingRatio, 3)],
  ["× first", (r) => fmt(r.workersRatio, 2)],
  ["CPU µs/req", (r) => fmt(r.cpuUsPerReq, 0)],
  ["nginx µs/req", (r) => fmt(r.nginxUsPerReq, 1)],
  ["host busy %", (r) => fmt(r.hostBusyPercent, 0)],
  ["errors", (r) => fmt(r.errors, 0)],
  ["whoami", (r) => fmt(r.whoamiCalls, 0)],
  ["MB/s", (r) => fmt(r.mbPerSec, 0)],
  ["streams", (r) => fmt(r.streams, 0)],
  ["events/s", (r) => fmt(r.eventsPerSec, 0)],
  ["CPU %", (r) => fmt(r.cpuPercent, 1)],
  ["idle RSS MiB", (r) => fmt(r.idleRssMiB, 0)],
  ["RSS MiB", (r) => fmt(r.rssMiB, 0)],
  ["peak RSS MiB", (r) => fmt(r.peakRssMiB, 0)],
];

function table(rows: readonly Row[]): string {
  const columns = COLUMNS.filter(([, cell], i) => i < 2 || rows.some((r) => cell(r) !== ""));
  const header = columns.map(([name]) => name);
  const lines = rows.map((r) => columns.map(([, cell]) => cell(r)));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) =>
    "| " + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") +
    " |";
  return [row(header), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|"]
    .concat(lines.map(row)).join("\n");
}

/** What the less obvious columns mean, for the scenarios that ran. */
function legend(rows: readonly Row[]): string {
  const ran = (id: string) => rows.some((r) => r.scenario === id);
  return [
    (ran("a") || ran("b")) &&
    "a, b: × nginx and × anon = the median ratio over pairs of wrk runs in alternating order " +
      "(the spread per pair is in the JSON); req/s, p50, p99 = medians over the runs.\n" +
      "b: × anon = session over anonymous requests on the same process (target ≥ 0.9); " +
      "whoami = Ory session checks over the proxy's life.",
    ran("metrics") &&
    "metrics: on/off = req/s with --metrics-address over without, the median ratio over " +
      "alternating pairs of wrk runs (the bound: at least 0.97).",
    ran("workers") &&
    "workers: × first = req/s over the first --workers count's, the median over rounds in " +
      "rotating order; CPU µs/req = all the proxy's threads; host busy % = all CPUs of the host " +
      "(wrk, nginx and other tenants included), 100 = saturated.",
    ran("logging") &&
    "logging: log/quiet = req/s with the default access log (to /dev/null) over --quiet, the " +
      "median ratio over alternating pairs of wrk runs (the target: at least 0.95).",
    ran("sse") &&
    "sse: p50/p99 = how late events arrived; streams = held to the end; errors = the rest; " +
      "events/s should be 10 × streams; CPU % of one core and RSS while holding them.",
    rows.some((r) => r.idleRssMiB !== undefined) &&
    "idle RSS = the proxy's before the load; peak RSS = its VmHWM over its life.",
  ].filter(Boolean).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

/** `nginx -v` prints to stderr. */
async function nginxVersion(): Promise<string | undefined> {
  const out = await new Deno.Command("nginx", { args: ["-v"], stderr: "piped" }).output();
  return new TextDecoder().decode(out.stderr).trim() || undefined;
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  for (const tool of ["nginx", "wrk", "curl"]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).output();
    if (!found.success) throw new Error(`Cannot bench: ${tool} is not installed`);
  }
  const dir = await Deno.makeTempDir({ prefix: "orygate-bench-" });
  const stops: (() => Promise<void>)[] = [];
  const rounds: Row[][] = [];
  try {
    const helper = await startHelper();
    stops.push(helper.stop);
    const nginx = await startNginx(dir, helper.url);
    stops.push(nginx.stop);
    for (let round = 1; round <= options.rounds; round++) {
      const rows: Row[] = [];
      for (const scenario of SCENARIOS.filter((s) => options.scenarios.includes(s.id))) {
        console.error(`round ${round}/${options.rounds}: ${scenario.title}`);
        rows.push(...await scenario.run({ options, nginx, helper, dir }));
      }
      rounds.push(rows);
    }
  } finally {
    for (const stopOne of stops.reverse()) await stopOne();
    await Deno.remove(dir, { recursive: true });
  }

  const rows = combine(rounds);
  console.log(table(rows));
  const notes = legend(rows);
  if (notes) console.log(notes);
  const started = new Date();
  const loadavg = Deno.loadavg();
  const result = {
    date: started.toISOString(),
    deno: Deno.version.deno,
    nginx: await nginxVersion(),
    cpus: navigator.hardwareConcurrency,
    loadavg,
    options,
    rows,
    rounds,
  };
  await Deno.mkdir(`${ROOT}bench-results`, { recursive: true });
  const file = `${ROOT}bench-results/${started.toISOString().replace(/[:.]/g, "-")}.json`;
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nload average at the end: ${loadavg.join(" ")}; results: ${file}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
