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
 * - `cli`: the real `orygate proxy` command, as shipped. (The node:http client it replaced was
 *   compared here before; its figures are in docs/performance.md.)
 *
 * Scenarios (`--scenarios` ids):
 *
 * - `a`: anonymous requests, `wrk -t1 -c32`.
 * - `b`: the same with a valid Ory session cookie, orygate's default flags (whoami cached, a
 *   JWT minted and sent on as `Authorization: Bearer`). Checked once before the load: the
 *   upstream gets a Bearer JWT for the stand-in's identity. Reports whoami calls over the
 *   proxy's life (the cache at work) and req/s relative to (a) in the same round.
 * - `upload`: 1 GiB PUT through the proxy with curl to the sink, which answers the byte count
 *   it read (checked); MB/s and the proxy's peak RSS (VmHWM).
 * - `download`: 1 GiB through the proxy with curl, MB/s and the proxy's peak RSS.
 * - `sse`: `--streams` (1000) concurrent event streams, one event per 100 ms each, held for the
 *   wrk duration; events/s in total, event delay p50/p99, the proxy's CPU and RSS.
 *
 * Each proxy runs in a fresh process per scenario. Results print as a table and go to
 * `bench-results/<timestamp>.json`.
 *
 * Flags: `--duration 10s` (wrk, and the SSE hold), `--rounds 1` (median over rounds),
 * `--targets cli`, `--scenarios a,b,upload,download,sse`, `--streams 1000`.
 *
 * Besides requests/s the table shows the proxy's CPU time per request (all its threads, from
 * /proc): on a shared machine it moves less than throughput does.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  readonly duration: string;
  readonly rounds: number;
  readonly targets: readonly ProxyKind[];
  readonly scenarios: readonly string[];
}

type ProxyKind = "cli";
const ALL_TARGETS: readonly ProxyKind[] = ["cli"];

function parseOptions(args: readonly string[]): Options {
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i === -1 ? undefined : args[i + 1];
  };
  const targets = (get("targets")?.split(",") ?? ALL_TARGETS) as ProxyKind[];
  for (const t of targets) {
    if (!ALL_TARGETS.includes(t)) {
      throw new Error(`Cannot bench target "${t}": use ${ALL_TARGETS.join(", ")}`);
    }
  }
  const rounds = Number(get("rounds") ?? "1");
  if (!(rounds >= 1)) throw new Error(`Cannot parse --rounds: "${get("rounds")}" is not >= 1`);
  return {
    duration: get("duration") ?? "10s",
    rounds,
    targets,
    scenarios: get("scenarios")?.split(",") ?? SCENARIOS.map((s) => s.id),
  };
}

// ---------------------------------------------------------------------------------------------
// Processes

const ROOT = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();

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
      await new Promise((r) => setTimeout(r, 100));
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
// nginx: the upstream and the baseline

interface Nginx {
  readonly upstreamUrl: string;
  readonly baselineUrl: string;
  stop(): Promise<void>;
}

async function startNginx(dir: string): Promise<Nginx> {
  const upstreamPort = await freePort();
  const baselinePort = await freePort();
  await Deno.chmod(dir, 0o755); // nginx workers run as nobody
  const big = await Deno.open(`${dir}/big.bin`, { create: true, write: true });
  await big.truncate(1024 * 1024 * 1024); // sparse: served from the page cache
  big.close();
  await Deno.chmod(`${dir}/big.bin`, 0o644);
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
    location = /big { alias ${dir}/big.bin; }
  }
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${baselinePort};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
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
  await waitForHttp(upstreamUrl + "/", child);
  await waitForHttp(baselineUrl + "/", child);
  return { upstreamUrl, baselineUrl, stop: () => stop(child) };
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
};

async function startProxy(kind: ProxyKind, upstreamUrl: string): Promise<Proxy> {
  const port = await freePort();
  const sdkUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens: anonymous only
  const args = [
    "run",
    "-A",
    `${ROOT}src/main.ts`,
    "proxy",
    upstreamUrl,
    "--sdk-url",
    sdkUrl,
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    "--quiet",
  ];
  const child = new Deno.Command(DENO, {
    args,
    cwd: ROOT,
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url + "/", child);
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

async function wrk(url: string, duration: string): Promise<WrkResult> {
  const out = await run("wrk", ["-t1", "-c32", `-d${duration}`, "--latency", url]);
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

// ---------------------------------------------------------------------------------------------
// Scenarios

/** One measured line of the report. */
interface Row {
  readonly scenario: string;
  readonly target: ProxyKind | "nginx";
  readonly rps?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly errors?: number;
  /** Requests per second relative to nginx in the same round. */
  readonly ratio?: number;
  /** The proxy's CPU time per request, in microseconds. */
  readonly cpuUsPerReq?: number;
  readonly mbPerSec?: number;
  /** The proxy's peak resident memory over its whole life (VmHWM). */
  readonly peakRssMiB?: number;
  /** Resident memory just before the scenario's load. */
  readonly idleRssMiB?: number;
}

interface Context {
  readonly options: Options;
  readonly nginx: Nginx;
}

interface Scenario {
  readonly id: string;
  readonly title: string;
  run(ctx: Context): Promise<Row[]>;
}

/** Starts a fresh proxy of `kind`, runs `fn` against it, and stops it. */
async function withProxy<T>(
  kind: ProxyKind,
  ctx: Context,
  fn: (proxy: Proxy) => Promise<T>,
): Promise<T> {
  const proxy = await startProxy(kind, ctx.nginx.upstreamUrl);
  try {
    return await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

const anonymous: Scenario = {
  id: "a",
  title: "(a) anonymous GET, tiny body, wrk -t1 -c32",
  async run(ctx) {
    const { duration } = ctx.options;
    const rows: Row[] = [];
    await wrk(ctx.nginx.baselineUrl + "/", "2s"); // warm-up
    const nginx = await wrk(ctx.nginx.baselineUrl + "/", duration);
    rows.push({ scenario: "a", target: "nginx", ...nginx, ratio: 1 });
    for (const kind of ctx.options.targets) {
      rows.push(
        await withProxy(kind, ctx, async (proxy) => {
          await wrk(proxy.url + "/", "3s"); // warm-up: JIT, pools
          const cpuBefore = await cpuMs(proxy.pid);
          const result = await wrk(proxy.url + "/", duration);
          const cpu = await cpuMs(proxy.pid) - cpuBefore;
          const { peakMiB } = await memory(proxy.pid);
          return {
            scenario: "a",
            target: kind,
            ...result,
            ratio: result.rps / nginx.rps,
            cpuUsPerReq: (cpu * 1000) / result.requests,
            peakRssMiB: peakMiB,
          };
        }),
      );
    }
    return rows;
  },
};

const bigDownload: Scenario = {
  id: "download",
  title: "1 GiB download through the proxy (curl)",
  async run(ctx) {
    const rows: Row[] = [];
    const direct = await download(ctx.nginx.baselineUrl + "/big");
    rows.push({
      scenario: "download",
      target: "nginx",
      mbPerSec: direct.bytes / direct.seconds / 1e6,
    });
    for (const kind of ctx.options.targets) {
      rows.push(
        await withProxy(kind, ctx, async (proxy) => {
          const idle = await memory(proxy.pid);
          const { bytes, seconds } = await download(proxy.url + "/big");
          if (bytes !== 1024 * 1024 * 1024) throw new Error(`${kind}: got ${bytes} bytes`);
          const after = await memory(proxy.pid);
          return {
            scenario: "download",
            target: kind,
            mbPerSec: bytes / seconds / 1e6,
            peakRssMiB: after.peakMiB,
            idleRssMiB: idle.rssMiB,
          };
        }),
      );
    }
    return rows;
  },
};

// (b) session (a cached whoami), (c) upload and (d) SSE slot in here as further scenarios.
const SCENARIOS: readonly Scenario[] = [anonymous, bigDownload];

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
    const key = `${row.scenario}\0${row.target}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((rows) => {
    const out: Record<string, unknown> = { scenario: rows[0].scenario, target: rows[0].target };
    for (const field of Object.keys(rows[0]) as (keyof Row)[]) {
      if (typeof rows[0][field] === "number") {
        out[field] = median(rows.map((r) => r[field] as number));
      }
    }
    return out as unknown as Row;
  });
}

function table(rows: readonly Row[]): string {
  const fmt = (v: number | undefined, digits: number) => v === undefined ? "" : v.toFixed(digits);
  const header = [
    "scenario",
    "target",
    "req/s",
    "p50 ms",
    "p99 ms",
    "× nginx",
    "CPU µs/req",
    "errors",
    "MB/s",
    "peak RSS MiB",
  ];
  const lines = rows.map((r) => [
    r.scenario,
    TARGET_LABEL[r.target],
    fmt(r.rps, 0),
    fmt(r.p50Ms, 2),
    fmt(r.p99Ms, 2),
    fmt(r.ratio, 2),
    fmt(r.cpuUsPerReq, 0),
    fmt(r.errors, 0),
    fmt(r.mbPerSec, 0),
    fmt(r.peakRssMiB, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) =>
    "| " + cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") +
    " |";
  return [
    row(header),
    "|" + widths.map((w, i) => (i < 2 ? "-" : "-").repeat(w + 2)).join("|") + "|",
  ]
    .concat(lines.map(row)).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  for (const tool of ["nginx", "wrk", "curl"]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).output();
    if (!found.success) throw new Error(`Cannot bench: ${tool} is not installed`);
  }
  const dir = await Deno.makeTempDir({ prefix: "orygate-bench-" });
  const nginx = await startNginx(dir);
  const ctx: Context = { options, nginx };
  const rounds: Row[][] = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      const rows: Row[] = [];
      for (const scenario of SCENARIOS.filter((s) => options.scenarios.includes(s.id))) {
        console.error(`round ${round}/${options.rounds}: ${scenario.title}`);
        rows.push(...await scenario.run(ctx));
      }
      rounds.push(rows);
    }
  } finally {
    await nginx.stop();
    await Deno.remove(dir, { recursive: true });
  }

  const rows = combine(rounds);
  console.log(table(rows));
  const started = new Date();
  const loadavg = Deno.loadavg();
  const result = {
    date: started.toISOString(),
    deno: Deno.version.deno,
    nginx: (await run("nginx", ["-v"]).catch(() => "")).trim() || undefined,
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
