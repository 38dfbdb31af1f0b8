/**
 * `--workers` through the real CLI: worker threads sharing the port (Linux), each request on a
 * new connection so the kernel picks a worker for it. Requests land on every worker and the
 * operator can tell which (`orygate_worker_requests_total{worker}`, the `worker` log field);
 * `/metrics` is the sum; a logout through one worker purges the session in the others (and,
 * with Redis, in other instances, both ways) and closes its WebSockets there; SIGTERM drains;
 * a worker that ends is replaced; mistakes exit 2 with one line.
 *
 * The one test-only hook: `ORYGATE_TEST_WORKER_EXIT=<id>` ends that worker's thread half a
 * second after its first start (`src/cli/worker_entry.ts`). Workers are threads of one
 * process: no signal reaches one alone, and nothing a client sends ends one.
 */
import { type CliProcess, freePort, runCliOnce, startCli } from "../_support/cli.ts";
import { type FakeOry, startFakeOry } from "../_support/fake_ory.ts";
import { scrape } from "../_support/prometheus.ts";
import { startRedis } from "../_support/servers.ts";
import { startTestApp, type TestApp } from "../_support/test_app.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false, ignore: Deno.build.os !== "linux" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request on a connection of its own (a new HTTP client has an empty pool). */
async function fresh(url: string, init: RequestInit = {}): Promise<Response & { text_: string }> {
  const client = Deno.createHttpClient({});
  try {
    const res = await fetch(url, { ...init, client, redirect: "manual" });
    return Object.assign(res, { text_: await res.text() });
  } finally {
    client.close();
  }
}

/** The Authorization the app received for a request with session cookie `token`. */
async function appAuthorization(base: string, token: string): Promise<string | undefined> {
  const res = await fresh(`${base}/echo`, { headers: { cookie: `ory_kratos_session=${token}` } });
  assertEquals(res.status, 200);
  return JSON.parse(res.text_).headers.authorization;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

interface Stack {
  app: TestApp;
  ory: FakeOry;
  proxy: CliProcess;
  base: string;
  metricsUrl: string;
}

async function withWorkers(
  args: string[],
  fn: (s: Stack) => Promise<void>,
  options: { command?: string[]; env?: Record<string, string> } = {},
) {
  const app = startTestApp();
  const ory = startFakeOry();
  const metricsPort = freePort();
  const proxy = await startCli([
    ...(options.command ?? ["proxy"]),
    app.origin,
    "--sdk-url",
    ory.origin,
    "--workers",
    "2",
    "--metrics-address",
    `127.0.0.1:${metricsPort}`,
    ...args,
  ], { env: options.env });
  const stack = {
    app,
    ory,
    proxy,
    base: `http://127.0.0.1:${proxy.port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
  };
  try {
    await fn(stack);
  } catch (err) {
    console.error(`--- orygate output ---\n${proxy.output()}`);
    throw err;
  } finally {
    await proxy.stop();
    await app.close();
    await ory.close();
  }
}

/** Requests each worker answered, by worker id. */
async function perWorker(metricsUrl: string): Promise<number[]> {
  const m = await scrape(metricsUrl);
  return [1, 2].map((id) => m.value("orygate_worker_requests_total", { worker: String(id) }));
}

Deno.test(
  "workers: requests land on both, /metrics is their sum, health answers",
  opts,
  async (t) => {
    await withWorkers(["--log-format", "json"], async ({ base, proxy, metricsUrl }) => {
      await t.step("the banner says two workers serve", () => {
        const banner = proxy.output().split("\n").map((l) => l && JSON.parse(l).msg);
        assert(
          banner.includes("  workers:          2 (event loops sharing the port)"),
          proxy.output(),
        );
      });
      const before = await scrape(metricsUrl);
      assertEquals(before.value("orygate_requests_total"), 0);
      const n = 40;
      for (let i = 0; i < n; i++) assertEquals((await fresh(`${base}/page-${i}`)).status, 200);

      await t.step("each worker answered some (the kernel spread the connections)", async () => {
        const [one, two] = await perWorker(metricsUrl);
        assert(one > 0 && two > 0, `worker 1: ${one}, worker 2: ${two}`);
        assertEquals(one + two, n);
      });
      await t.step("orygate_requests_total and the histogram are the sums", async () => {
        const m = await scrape(metricsUrl);
        const app = { route: "app", method: "GET", code: "200" };
        assertEquals(m.value("orygate_requests_total", app), n);
        assertEquals(m.count("orygate_request_duration_seconds", { route: "app" }), n);
        assertEquals(m.value("orygate_workers"), 2);
        assertEquals(m.value("orygate_worker_restarts_total"), 0);
        // The process's own metrics once, not once per worker: the workers are its threads.
        for (const name of ["process_resident_memory_bytes", "orygate_build_info"]) {
          assertEquals(m.families.get(name)?.metrics.length, 1, name);
        }
        assert(m.value("process_resident_memory_bytes") > 0);
      });
      await t.step("the access lines name the worker that answered", async () => {
        // Each worker writes its lines in its own batches (every 50 ms): wait for all n.
        const pageLines = () =>
          proxy.output().split("\n").filter((l) =>
            l.includes('"msg":"request"') && l.includes('"path":"/page-')
          );
        await until("every access line written", () => pageLines().length >= n);
        const workers = new Set(pageLines().map((l) => JSON.parse(l).worker));
        assertEquals([...workers].sort(), [1, 2]);
      });
      await t.step("alive and ready answer on every worker", async () => {
        for (let i = 0; i < 10; i++) {
          for (const which of ["alive", "ready"]) {
            const res = await fresh(`${base}/.ory/proxy/health/${which}`);
            assertEquals([res.status, res.text_], [200, '{"status":"ok"}'], which);
          }
        }
      });
      await t.step("every worker signs with the same keys", async () => {
        const sets = new Set<string>();
        for (let i = 0; i < 10; i++) sets.add((await fresh(`${base}/.ory/jwks.json`)).text_);
        assertEquals(sets.size, 1);
      });
    });
  },
);

Deno.test(
  "workers: a logout through one worker purges the session in the other",
  opts,
  async () => {
    await withWorkers(["--session-cache-ttl", "60s"], async ({ base, ory }) => {
      ory.sessions.set("tok", { id: "s1", identityId: "id-1", email: "a@b.c" });
      // Fresh connections until both workers asked Ory (each caches it for 60 s then).
      for (let i = 0; ory.whoamiCalls < 2; i++) {
        assert(i < 100, "the requests never reached the second worker");
        assert(await appAuthorization(base, "tok"));
      }
      for (let i = 0; i < 10; i++) assert(await appAuthorization(base, "tok"));
      assertEquals(ory.whoamiCalls, 2, "both workers have the session cached");

      const logout = await fresh(`${base}/.ory/self-service/logout`, {
        headers: { cookie: "ory_kratos_session=tok" },
      });
      assertEquals(logout.status, 303);
      await sleep(200);
      // Without the purge, the worker that did not see the logout would mint from its cache.
      for (let i = 0; i < 20; i++) assertEquals(await appAuthorization(base, "tok"), undefined);
      // Each worker asked Ory once more (its cache was purged) and caches the answer: no session.
      assertEquals(ory.whoamiCalls, 4);
    });
  },
);

Deno.test("workers: with Redis, logouts cross instances both ways", opts, async () => {
  const app = startTestApp();
  const ory = startFakeOry();
  const redis = await startRedis();
  const env = { ORYGATE_REDIS_URL: `redis://127.0.0.1:${redis.port}` };
  const common = [app.origin, "--sdk-url", ory.origin, "--session-cache-ttl", "60s"];
  const instances: CliProcess[] = [];
  try {
    // Started one after the other: each waits for Redis to be reachable before it counts.
    instances.push(await startCli(["proxy", ...common, "--workers", "2"], { env }));
    instances.push(await startCli(["proxy", ...common], { env }));
    const [multi, single] = instances.map((p) => `http://127.0.0.1:${p.port}`);
    await sleep(500); // both subscribed

    /** The session cached in both workers of one instance and in the other instance. */
    const cachedEverywhere = async (token: string) => {
      ory.sessions.set(token, { id: `s-${token}`, identityId: `id-${token}`, email: "a@b.c" });
      const before = ory.whoamiCalls;
      for (let i = 0; ory.whoamiCalls - before < 2; i++) {
        assert(i < 100, "the requests never reached the second worker");
        assert(await appAuthorization(multi, token));
      }
      assert(await appAuthorization(single, token));
      assertEquals(ory.whoamiCalls - before, 3);
      return before;
    };
    const goneEverywhere = async (token: string, before: number) => {
      await sleep(200);
      for (let i = 0; i < 10; i++) assertEquals(await appAuthorization(multi, token), undefined);
      assertEquals(await appAuthorization(single, token), undefined);
      assertEquals(ory.whoamiCalls - before, 6, "every cache asked Ory again");
    };
    const logout = async (base: string, token: string) => {
      const res = await fresh(`${base}/.ory/self-service/logout`, {
        headers: { cookie: `ory_kratos_session=${token}` },
      });
      assertEquals(res.status, 303);
    };

    // From the other instance through Redis to the parent, and from it to both workers.
    const a = await cachedEverywhere("first");
    await logout(single, "first");
    await goneEverywhere("first", a);
    // From a worker to its parent, and from it through Redis to the other instance.
    const b = await cachedEverywhere("second");
    await logout(multi, "second");
    await goneEverywhere("second", b);
    // One Redis connection for the process, however many workers: one line for an outage.
    await redis.stop();
    await until(
      "the outage was noticed",
      () => /Redis at \S+ is unreachable/.test(instances[0].output()),
    );
    await sleep(3000); // several reconnect attempts (50 ms doubling, 2 s at most)
    assertEquals(instances[0].output().match(/Redis at \S+ is unreachable/g)?.length, 1);
  } catch (err) {
    for (const p of instances) console.error(`--- orygate output ---\n${p.output()}`);
    throw err;
  } finally {
    await Promise.all(instances.map((p) => p.stop()));
    await redis.stop().catch(() => {}); // stopped already, unless a step failed before
    await app.close();
    await ory.close();
  }
});

Deno.test(
  "workers: SIGTERM lets requests in flight on any worker finish, then exits 0",
  opts,
  async () => {
    await withWorkers([], async ({ base, app, proxy }) => {
      // Slow requests on several connections: on both workers, most likely.
      const slow = Array.from({ length: 6 }, () => fresh(`${base}/slow?ms=1500`));
      await until("the app got them", () => app.seen.filter((p) => p === "/slow").length === 6);
      const stopped = proxy.stop("SIGTERM");
      const answers = await Promise.all(slow);
      assertEquals(answers.map((r) => [r.status, r.text_]), answers.map(() => [200, "slow"]));
      assertEquals(await stopped, 0);
      assertMatch(proxy.output(), /orygate: shutting down\n/);
      const refused = await fresh(base).then(() => false, () => true);
      assert(refused, "the port still answers after the exit");
    });
  },
);

Deno.test("workers: a worker that ends is noticed, logged and replaced", opts, async () => {
  await withWorkers([], async ({ base, proxy, metricsUrl }) => {
    // Worker 2 ends its thread half a second after it started, without a word.
    await until(
      "the parent noticed",
      () => /error worker 2 did not answer for 10 s .*; starting it again/.test(proxy.output()),
    );
    await until(
      "worker 2 serving again",
      () => proxy.output().includes("worker 2 is serving again"),
    );
    const m = await scrape(metricsUrl);
    assertEquals(m.value("orygate_worker_restarts_total"), 1);
    assertEquals(m.value("orygate_workers"), 2);
    // Both serve again: the replacement takes its share of new connections.
    for (let i = 0; i < 30; i++) assertEquals((await fresh(`${base}/after-${i}`)).status, 200);
    const [one, two] = await perWorker(metricsUrl);
    assert(one > 0 && two > 0, `worker 1: ${one}, worker 2: ${two}`);
    // The process never went away.
    assertEquals(proxy.output().match(/is ready on port/g)?.length, 1);
  }, { env: { ORYGATE_TEST_WORKER_EXIT: "2" } });
});

Deno.test("workers: the tunnel and proxy local run on workers too", opts, async (t) => {
  await t.step("tunnel: Ory's APIs from both workers", async () => {
    await withWorkers([], async ({ base, ory, metricsUrl }) => {
      for (let i = 0; i < 20; i++) {
        assertEquals((await fresh(`${base}/self-service/login/browser`)).status, 303);
      }
      const [one, two] = await perWorker(metricsUrl);
      assert(one > 0 && two > 0, `worker 1: ${one}, worker 2: ${two}`);
      assertEquals(ory.requests.filter((r) => r.path === "/self-service/login/browser").length, 20);
    }, { command: ["tunnel"] });
  });
  await t.step("proxy local: HTTPS, and plain http redirected, on both workers", async () => {
    const home = await Deno.makeTempDir({ prefix: "orygate-workers-home-" });
    try {
      await withWorkers(["--no-open", "--dont-install-cert"], async ({ proxy, metricsUrl }) => {
        const ca = /local CA:\s+(\S+)/.exec(proxy.output())![1];
        const caCerts = [await Deno.readTextFile(ca)];
        for (let i = 0; i < 20; i++) {
          const client = Deno.createHttpClient({ caCerts });
          try {
            const res = await fetch(`https://localhost:${proxy.port}/tls-${i}`, { client });
            assertEquals([res.status, (await res.json()).path], [200, `/tls-${i}`]);
          } finally {
            client.close();
          }
        }
        const plain = await fresh(`http://127.0.0.1:${proxy.port}/x`);
        assertEquals(plain.status, 307);
        const [one, two] = await perWorker(metricsUrl);
        assert(one > 0 && two > 0, `worker 1: ${one}, worker 2: ${two}`);
      }, {
        command: ["proxy", "local"],
        env: { HOME: home, XDG_CONFIG_HOME: `${home}/.config` },
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
});

Deno.test("workers: mistakes exit 2 with one line", opts, async () => {
  const args = ["proxy", "http://127.0.0.1:1", "--sdk-url", "http://127.0.0.1:1"];
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    for (
      const [extra, env, message] of [
        [["--workers", "0"], {}, "Cannot use --workers 0: it must be between 1 and 256 (or auto)"],
        [["--workers", "abc"], {}, 'Cannot parse --workers: "abc" is not a count'],
        [[], { ORYGATE_WORKERS: "-1" }, 'Cannot parse ORYGATE_WORKERS: "-1" is not a count'],
      ] as const
    ) {
      const out = await runCliOnce([...args, ...extra, "--port", String(freePort())], env);
      assertEquals(out.code, 2, out.stderr);
      assertEquals(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
      assert(out.stderr.startsWith(`orygate: ${message}`), out.stderr);
    }
    // A port another program holds: every worker would fail; said once, before any starts.
    const out = await runCliOnce([
      ...args,
      "--workers",
      "2",
      "--host",
      "127.0.0.1",
      "--port",
      String(busy.addr.port),
    ]);
    assertEquals(out.code, 2, out.stderr);
    assertEquals(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
    assertMatch(out.stderr, /^orygate: Cannot listen on port \d+: it is already in use/);
  } finally {
    busy.close();
  }
});

Deno.test(
  "workers: without --unstable-net, one event loop and one line that says why",
  opts,
  async () => {
    // deno.json without "net": how the CLI runs from JSR unless the user adds the flag.
    const dir = await Deno.makeTempDir({ prefix: "orygate-nonet-" });
    const root = new URL("../../", import.meta.url);
    const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
    config.unstable = config.unstable.filter((f: string) => f !== "net");
    for (const key of ["exclude", "fmt", "lint", "publish"]) delete config[key];
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify(config));
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        `${dir}/deno.json`,
        "--no-lock",
        new URL("src/main.ts", root).pathname,
        "proxy",
        "http://127.0.0.1:1",
        "--sdk-url",
        "http://127.0.0.1:1",
        "--host",
        "127.0.0.1",
        "--port",
        String(port),
        "--workers",
        "2",
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let output = "";
    // Read to the end: a closed pipe would fail the program's next log line.
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) output += decoder.decode(chunk, { stream: true });
    })();
    try {
      await until("the banner", () => output.includes("  workers:"));
      const warnings = output.split("\n").filter((l) => l.includes("--workers"));
      assertEquals(warnings, [
        "warning: --workers 2: sharing the port needs Deno's --unstable-net flag (this " +
        "repository's deno.json, the npm package and the binaries have it; add it when running " +
        "from JSR); running 1 worker",
      ]);
      assertMatch(output, /\n {2}workers: {10}1\n/);
      assertEquals((await fresh(`http://127.0.0.1:${port}/.ory/proxy/health/alive`)).status, 200);
    } catch (err) {
      console.error(output);
      throw err;
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reading;
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "workers: a logout through one worker closes the session's WebSockets on the other",
  opts,
  async () => {
    await withWorkers(["--session-cache-ttl", "60s"], async ({ base, ory, metricsUrl }) => {
      ory.sessions.set("tok", { id: "s1", identityId: "id-1", email: "a@b.c" });
      const open = (token?: string) =>
        new Promise<{ ws: WebSocket; closed: Promise<number> }>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1${base.slice(base.lastIndexOf(":"))}/ws`, {
            headers: token ? { cookie: `ory_kratos_session=${token}` } : {},
          });
          const closed = new Promise<number>((r) => ws.onclose = (e) => r(e.code));
          ws.onopen = () => resolve({ ws, closed });
          ws.onerror = () => reject(new Error("the WebSocket did not open"));
        });
      // Each socket is a connection of its own: open them until both workers hold some.
      const before = await perWorker(metricsUrl);
      const sockets: Awaited<ReturnType<typeof open>>[] = [];
      for (;;) {
        sockets.push(await open("tok"));
        const now = await perWorker(metricsUrl);
        if (now[0] > before[0] && now[1] > before[1]) break;
        assert(sockets.length < 40, "the sockets never reached the second worker");
      }
      const anonymous = await open();
      const logout = await fresh(`${base}/.ory/self-service/logout?token=t`, {
        headers: { cookie: "ory_kratos_session=tok" },
      });
      assertEquals(logout.status, 303);
      // The worker that saw the logout closes its own at once; the other is told by the
      // parent and closes its sockets once Ory confirms the session is gone.
      const codes = await Promise.race([
        Promise.all(sockets.map((s) => s.closed)),
        sleep(10_000).then(() => "not all closed within 10 s"),
      ]);
      assertEquals(codes, sockets.map(() => 1008));
      assertEquals(anonymous.ws.readyState, WebSocket.OPEN);
      anonymous.ws.close();
      await anonymous.closed;
    });
  },
);
