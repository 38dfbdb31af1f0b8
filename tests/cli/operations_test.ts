/**
 * Issue 17 through the real CLI: the health endpoints, `/metrics` on its own listener,
 * `--log-format json`, request IDs and trace context, and the flags' mistakes.
 */
import { type CliProcess, freePort, runCliOnce, startCli } from "../_support/cli.ts";
import { type FakeOry, startFakeOry } from "../_support/fake_ory.ts";
import { scrape } from "../_support/prometheus.ts";
import { startTestApp, type TestApp } from "../_support/test_app.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const RESET = { upstream: "app", kind: "reset" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Stack {
  app: TestApp;
  ory: FakeOry;
  proxy: CliProcess;
  /** `http://127.0.0.1:<metrics port>/metrics` */
  metricsUrl: string;
}

async function withStack(
  args: string[],
  fn: (s: Stack) => Promise<void>,
  options: { command?: string[]; env?: Record<string, string> } = {},
) {
  const app = startTestApp();
  const stack = { app, ory: startFakeOry() } as Stack;
  const metricsPort = freePort();
  stack.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  stack.proxy = await startCli([
    ...(options.command ?? ["proxy"]),
    app.origin,
    ...args,
    "--sdk-url",
    stack.ory.origin,
    "--metrics-address",
    `127.0.0.1:${metricsPort}`,
  ], { env: options.env });
  try {
    await fn(stack);
  } catch (err) {
    console.error(`--- orygate output ---\n${stack.proxy.output()}`);
    throw err;
  } finally {
    await stack.proxy.stop();
    await app.close();
    await stack.ory.close().catch(() => {});
  }
}

async function health(base: string, which: "alive" | "ready", method = "GET") {
  const res = await fetch(`${base}/.ory/proxy/health/${which}`, { method });
  const body = method === "HEAD" ? await res.text() : await res.json();
  return { status: res.status, body, headers: res.headers };
}

Deno.test("health: alive and ready as Ory goes down and comes back", opts, async (t) => {
  await withStack(["--protect-path-prefix", "/"], async ({ app, ory, proxy, metricsUrl }) => {
    await t.step("with Ory up both are 200 {status: ok}, for GET and HEAD", async () => {
      assertEquals(await health(proxy.url, "alive").then((h) => [h.status, h.body]), [200, {
        status: "ok",
      }]);
      const ready = await health(proxy.url, "ready");
      assertEquals([ready.status, ready.body], [200, { status: "ok" }]);
      assertEquals(ready.headers.get("cache-control"), "no-store");
      assertEquals((await health(proxy.url, "alive", "HEAD")).status, 200);
      assertEquals((await health(proxy.url, "ready", "HEAD")).body, "");
    });
    await t.step("never protected (everything is here), never forwarded", async () => {
      const seen = app.seen.filter((p) => p.includes("health"));
      assertEquals(seen, []);
      assert(!ory.requests.some((r) => r.path.startsWith("/proxy/health")));
      // The readiness probe itself is Ory's own /health/alive.
      assert(ory.requests.some((r) => r.path === "/health/alive"));
      const protectedPage = await fetch(`${proxy.url}/anything`, { redirect: "manual" });
      await protectedPage.body?.cancel();
      assertEquals(protectedPage.status, 401);
    });
    const port = ory.port;
    await ory.close();
    await t.step("with Ory down: alive 200, ready 503 once the cached probe is stale", async () => {
      assertEquals((await health(proxy.url, "alive")).status, 200);
      let ready = await health(proxy.url, "ready");
      for (let i = 0; i < 40 && ready.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 250));
        ready = await health(proxy.url, "ready");
      }
      assertEquals(ready.status, 503);
      assertEquals(ready.body.status, "unavailable");
      assertMatch(ready.body.reason, /^Ory does not answer: connection refused/);
      const res = await fetch(`${proxy.url}/.ory/self-service/login/browser`);
      await res.body?.cancel();
      assertEquals(res.status, 502);
      const m = await scrape(metricsUrl);
      assertEquals(
        m.value("orygate_upstream_errors_total", { upstream: "ory", kind: "connect" }),
        1,
      );
    });
    const back = startFakeOry({ port });
    try {
      await t.step("with Ory back: ready is 200 again within a few seconds", async () => {
        let ready = await health(proxy.url, "ready");
        for (let i = 0; i < 40 && ready.status !== 200; i++) {
          await new Promise((r) => setTimeout(r, 250));
          ready = await health(proxy.url, "ready");
        }
        assertEquals([ready.status, ready.body], [200, { status: "ok" }]);
      });
    } finally {
      await back.close();
    }
  });
});

Deno.test("health: the same paths answer in the tunnel (Ory at the root)", opts, async () => {
  await withStack([], async ({ ory, proxy }) => {
    assertEquals((await health(proxy.url, "alive")).body, { status: "ok" });
    assertEquals((await health(proxy.url, "ready")).status, 200);
    assert(!ory.requests.some((r) => r.path.includes("/proxy/health")), "forwarded to Ory");
  }, { command: ["tunnel"] });
});

Deno.test("metrics: a scrape after known traffic", opts, async (t) => {
  await withStack(
    ["--protect-path-prefix", "/members"],
    async ({ app, ory, proxy, metricsUrl }) => {
      ory.sessions.set("tok", { id: "s1", identityId: "id-1", email: "a@example.com" });
      const before = await scrape(metricsUrl);
      await t.step("served as Prometheus text 0.0.4, every family at zero", () => {
        assertEquals(before.contentType, "text/plain; version=0.0.4; charset=utf-8");
        assertEquals(before.value("orygate_requests_total"), 0);
        assertEquals(before.value("orygate_build_info", { version: "0.1.0" }) >= 0, true);
        for (
          const name of [
            "process_resident_memory_bytes",
            "process_cpu_seconds_total",
            "process_open_fds",
            "process_start_time_seconds",
          ]
        ) assert(before.value(name) > 0, `${name} = ${before.value(name)}`);
      });

      const get = async (path: string, init: RequestInit = {}) => {
        const res = await fetch(proxy.url + path, { redirect: "manual", ...init });
        await res.body?.cancel();
        return res.status;
      };
      assertEquals(await get("/hello"), 200);
      assertEquals(await get("/hello", { method: "POST", body: "x" }), 200);
      assertEquals(await get("/page", { headers: { cookie: "ory_kratos_session=tok" } }), 200);
      assertEquals(await get("/page", { headers: { cookie: "ory_kratos_session=tok" } }), 200);
      assertEquals(await get("/members", { headers: { accept: "text/html" } }), 303);
      assertEquals(await get("/members", { headers: { accept: "application/json" } }), 401);
      assertEquals(await get("/.ory/anything"), 200);
      assertEquals(await get("/.ory/proxy/health/alive"), 200);
      // The public port has no /metrics of its own: it is the application's path.
      const publicMetrics = await fetch(`${proxy.url}/metrics`);
      assertEquals((await publicMetrics.json()).path, "/metrics");

      const m = await scrape(metricsUrl);
      await t.step("requests by route, method and code; durations by route", () => {
        const req = (route: string, method: string, code: string) =>
          m.value("orygate_requests_total", { route, method, code });
        assertEquals(req("app", "GET", "200"), 4); // /hello, /page twice, /metrics
        assertEquals(req("app", "POST", "200"), 1);
        assertEquals(req("app", "GET", "303"), 1);
        assertEquals(req("app", "GET", "401"), 1);
        assertEquals(req("ory", "GET", "200"), 1);
        assertEquals(req("builtin", "GET", "200"), 1);
        assertEquals(m.count("orygate_request_duration_seconds", { route: "app" }), 7);
        assertEquals(m.count("orygate_request_duration_seconds", { route: "builtin" }), 1);
      });
      await t.step("one session check, one cache miss then a hit, one JWT, two denials", () => {
        assertEquals(m.value("orygate_session_checks_total", { result: "active" }), 1);
        assertEquals(m.value("orygate_session_checks_total", { result: "error" }), 0);
        assertEquals(m.value("orygate_session_cache_misses_total"), 1);
        assertEquals(m.value("orygate_session_cache_hits_total"), 1);
        assertEquals(m.count("orygate_whoami_duration_seconds"), 1);
        assertEquals(m.value("orygate_jwt_minted_total"), 1);
        assertEquals(m.value("orygate_protection_denials_total", { kind: "redirect" }), 1);
        assertEquals(m.value("orygate_protection_denials_total", { kind: "unauthorized" }), 1);
        assertEquals(m.value("orygate_protection_denials_total", { kind: "unavailable" }), 0);
        assertEquals(
          m.value("orygate_upstream_errors_total", { upstream: "app", kind: "connect" }),
          0,
        );
      });
      await t.step("an app that dies mid-body is an upstream reset", async () => {
        const res = await fetch(`${proxy.url}/die`);
        assertEquals(res.status, 200);
        await res.arrayBuffer().then(() => assert(false, "the body ended cleanly"), () => {});
        let after = await scrape(metricsUrl);
        for (let i = 0; i < 20 && after.value("orygate_upstream_errors_total", RESET) === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          after = await scrape(metricsUrl);
        }
        assertEquals(after.value("orygate_upstream_errors_total", RESET), 1);
      });
      await t.step("gauges: open connections, WebSocket tunnels", async () => {
        const ws = new WebSocket(`${proxy.url.replace("http", "ws")}/ws`);
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          ws.onerror = reject;
        });
        const open = await scrape(metricsUrl);
        assertEquals(open.value("orygate_websocket_tunnels"), 1);
        assert(open.value("orygate_open_connections") >= 1);
        ws.close();
        let after = await scrape(metricsUrl);
        for (let i = 0; i < 20 && after.value("orygate_websocket_tunnels") !== 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          after = await scrape(metricsUrl);
        }
        assertEquals(after.value("orygate_websocket_tunnels"), 0);
        assertEquals(app.seen.includes("/ws"), true);
      });
    },
  );
});

Deno.test("logs: --log-format json, one whole object per line, no secrets", opts, async () => {
  const app = startTestApp();
  const ory = startFakeOry();
  ory.sessions.set("s3cr3t-session-token", { id: "s1", identityId: "id-7", email: "a@b.c" });
  // --project beside --sdk-url: a warning line too.
  const proxy = await startCli([
    "proxy",
    app.origin,
    "--sdk-url",
    ory.origin,
    "--project",
    "ignored",
    "--protect-path-prefix",
    "/members",
  ], { env: { ORYGATE_LOG_FORMAT: "json" } });
  const cookie = "ory_kratos_session=s3cr3t-session-token";
  let jwt = "";
  try {
    const page = await fetch(`${proxy.url}/page?flow=secret-flow-id`, { headers: { cookie } });
    jwt = (await page.json()).headers.authorization.slice("Bearer ".length);
    assert(jwt.length > 20);
    await (await fetch(`${proxy.url}/page`, {
      headers: { authorization: "Bearer bearer-secret", "x-session-token": "header-secret" },
    })).body?.cancel();
    await (await fetch(`${proxy.url}/members`, { redirect: "manual" })).body?.cancel();
    await (await fetch(`${proxy.url}/.ory/self-service/logout?token=logout-secret`, {
      headers: { cookie },
      redirect: "manual",
    })).body?.cancel();
    ory.failing = true;
    await (await fetch(`${proxy.url}/members`, { headers: { cookie: "ory_kratos_session=x" } }))
      .body?.cancel();
    await new Promise((r) => setTimeout(r, 200)); // access lines are batched for 50 ms
  } finally {
    await proxy.stop();
    await app.close();
    await ory.close();
  }
  const lines = proxy.output().split("\n").filter((l) => l !== "");
  const records = lines.map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`not a JSON line: ${line}`);
    }
  });
  for (const r of records) {
    assertMatch(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert(["info", "warn", "error", "debug"].includes(r.level), r.level);
    assertEquals(typeof r.msg, "string");
  }
  assert(records.some((r) => /proxy is ready on port/.test(r.msg)), "the banner");
  assert(records.some((r) => r.level === "warn" && /--project is ignored/.test(r.msg)));
  assert(records.some((r) => r.level === "error" && /session check failed/.test(r.msg)));
  const access = records.filter((r) => r.msg === "request");
  assertEquals(access.map((r) => [r.method, r.path, r.status, r.route]), [
    ["GET", "/page", 200, "app"],
    ["GET", "/page", 200, "app"],
    ["GET", "/members", 401, "app"],
    ["GET", "/.ory/self-service/logout", 303, "ory"],
    ["GET", "/members", 503, "app"],
  ]);
  const first = access[0];
  assertEquals(first.identity_id, "id-7");
  assertEquals(access[1].identity_id, undefined);
  assertEquals(first.remote_addr, "127.0.0.1");
  assertMatch(first.request_id, UUID);
  assertEquals(typeof first.duration_ms, "number");
  assert(first.bytes_out > 0);
  const whole = lines.join("\n");
  for (
    const secret of [
      "s3cr3t-session-token",
      jwt,
      jwt.split(".")[1],
      "bearer-secret",
      "header-secret",
      "logout-secret",
      "secret-flow-id",
      "?",
      "ory_kratos_session",
    ]
  ) assert(!whole.includes(secret), `the log carries ${secret}`);
  assert(!/authorization|cookie/i.test(whole), "a header name that carries credentials");
});

Deno.test(
  "request IDs: kept when valid, made otherwise; trace context untouched",
  opts,
  async (t) => {
    await withStack([], async ({ ory, proxy }) => {
      ory.sessions.set("tok", { id: "s1", identityId: "id-1", email: "a@example.com" });
      await t.step(
        "a valid X-Request-Id reaches the app, Ory's whoami, and comes back",
        async () => {
          const res = await fetch(`${proxy.url}/echo`, {
            headers: { "x-request-id": "client-id_1.2~3", cookie: "ory_kratos_session=tok" },
          });
          const body = await res.json();
          assertEquals(body.headers["x-request-id"], "client-id_1.2~3");
          assertEquals(res.headers.get("x-request-id"), "client-id_1.2~3");
          const whoami = ory.requests.findLast((r) => r.path === "/sessions/whoami");
          assertEquals(whoami?.headers.get("x-request-id"), "client-id_1.2~3");
        },
      );
      await t.step("to Ory's own routes too", async () => {
        const res = await fetch(`${proxy.url}/.ory/anything`, {
          headers: { "x-request-id": "r-2" },
        });
        assertEquals((await res.json()).headers["x-request-id"], "r-2");
        assertEquals(res.headers.get("x-request-id"), "r-2");
      });
      await t.step("none, or an invalid one: a new UUID, the same on both sides", async () => {
        for (const given of [undefined, "has space", "x".repeat(129), "é"]) {
          const headers: Record<string, string> = given === undefined
            ? {}
            : { "x-request-id": given };
          const res = await fetch(`${proxy.url}/echo`, { headers });
          const sent = (await res.json()).headers["x-request-id"];
          assertMatch(sent, UUID);
          assertEquals(res.headers.get("x-request-id"), sent);
        }
        const longest = "y".repeat(128);
        const res = await fetch(`${proxy.url}/echo`, { headers: { "x-request-id": longest } });
        await res.body?.cancel();
        assertEquals(res.headers.get("x-request-id"), longest);
      });
      await t.step("traceparent and tracestate pass through both ways", async () => {
        const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        const res = await fetch(`${proxy.url}/echo`, {
          headers: { traceparent, tracestate: "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" },
        });
        const body = await res.json();
        assertEquals(body.headers.traceparent, traceparent);
        assertEquals(body.headers.tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        const back = await fetch(`${proxy.url}/trace`);
        await back.body?.cancel();
        assertEquals(
          back.headers.get("traceparent"),
          "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        );
        assertEquals(back.headers.get("tracestate"), "app=answer");
      });
    });
  },
);

Deno.test("bad --log-format and --metrics-address values exit 2 with one line", opts, async () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ["--log-format", "xml"],
      {},
      /^orygate: Cannot use --log-format: "xml" is not one of text, json\n$/,
    ],
    [[], { ORYGATE_LOG_FORMAT: "yaml" }, /^orygate: Cannot use --log-format: "yaml"/],
    [
      ["--metrics-address", "nope"],
      {},
      /^orygate: Cannot use --metrics-address: "nope" is not a host:port address/,
    ],
    [["--metrics-address", "127.0.0.1:70000"], {}, /^orygate: Cannot use --metrics-address/],
    [[], { ORYGATE_METRICS_ADDRESS: "127.0.0.1" }, /^orygate: Cannot use ORYGATE_METRICS_ADDRESS/],
    [["--port", "4999", "--metrics-address", ":4999"], {}, /it is the public port 4999/],
  ];
  for (const [args, env, expected] of cases) {
    const out = await runCliOnce(
      ["proxy", "http://127.0.0.1:3000", "--sdk-url", "http://127.0.0.1:4433", ...args],
      env,
    );
    assertEquals(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assertMatch(out.stderr, expected);
    assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
  }
  // A port already taken for metrics is a start-up mistake too.
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const out = await runCliOnce([
      "proxy",
      "http://127.0.0.1:3000",
      "--sdk-url",
      "http://127.0.0.1:4433",
      "--port",
      String(freePort()),
      "--metrics-address",
      `127.0.0.1:${taken.addr.port}`,
    ]);
    assertEquals(out.code, 2, out.stderr);
    assertMatch(out.stderr, /already in use \(pick another with --metrics-address\)\n$/);
    assertEquals(out.stderr.trim().split("\n").length, 1, out.stderr);
  } finally {
    taken.close();
  }
});
