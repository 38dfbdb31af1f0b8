/**
 * The engine through its own seam, as Hono's `app.request()` or Go's `httptest` test an
 * application: `createProxyEngine(config, { client, gate, routes, observeOry })` with a fake
 * upstream client that records the `UpstreamRequest` it is handed and answers from a table.
 * No sockets: what is pinned here is routing, the built-in routes, the gate, the Ory
 * observer and the answers the engine gives itself.
 */
import { parseConfig, type RawOptions } from "../../src/config/parse.ts";
import { UpstreamError } from "../../src/errors.ts";
import { type ProxyResult, toResponse } from "../../src/http1/message.ts";
import type {
  UpstreamClient,
  UpstreamRequest,
  UpstreamResponse,
} from "../../src/http1/upstream.ts";
import { createLogger } from "../../src/log/logger.ts";
import type { ProxyHandlerDeps } from "../../src/proxy/contracts.ts";
import { createProxyEngine } from "../../src/proxy/handler.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const APP = "http://127.0.0.1:3000";
const ORY = "http://127.0.0.1:4433";
/** The default publish URL (port 4000). */
const PUBLISH = "http://localhost:4000";

/** An upstream client that records each request and answers with `answer`'s response. */
function fakeClient(
  answer: (req: UpstreamRequest) => UpstreamResponse | Promise<UpstreamResponse> = () => reply(200),
): UpstreamClient & { readonly seen: UpstreamRequest[] } {
  const seen: UpstreamRequest[] = [];
  const client = (req: UpstreamRequest) => {
    seen.push(req);
    return Promise.resolve(answer(req));
  };
  return Object.assign(client, { seen });
}

function reply(status: number, headers: HeadersInit = {}, body?: string): UpstreamResponse {
  return {
    status,
    statusText: "",
    headers: new Headers(headers),
    body: body === undefined ? null : new TextEncoder().encode(body),
  };
}

/** An engine over the fake client, for `proxy` (or `tunnel`) with JWTs off and no log. */
function engineWith(
  options: RawOptions & { readonly command?: "proxy" | "tunnel"; readonly appUrl?: string } = {},
  deps: Omit<ProxyHandlerDeps, "client"> = {},
  client = fakeClient(),
) {
  const { command = "proxy", appUrl = APP, ...flags } = options;
  const config = parseConfig({
    command,
    appUrl,
    options: { sdkUrl: ORY, quiet: true, jwt: false, ...flags },
    env: {},
  });
  return { engine: createProxyEngine(config, { ...deps, client }), client };
}

const get = (path: string, init?: RequestInit) => new Request(PUBLISH + path, init);
const text = (res: ProxyResult) => toResponse(res).text();

Deno.test("createProxyEngine() routes the app, and Ory under /.ory with the prefix stripped", async (t) => {
  const cases: {
    name: string;
    options?: Parameters<typeof engineWith>[0];
    request: Request;
    url: string;
    host: string;
    oryBase?: string;
  }[] = [
    {
      name: "an app path goes to the application, query kept, with the publish host",
      request: get("/members/page?q=1"),
      url: `${APP}/members/page?q=1`,
      host: "localhost:4000",
    },
    {
      name: "the application URL's path is the base of every app path",
      options: { appUrl: `${APP}/base/` },
      request: get("/x"),
      url: `${APP}/base/x`,
      host: "localhost:4000",
    },
    {
      name: "--rewrite-host sends the application's own host",
      options: { rewriteHost: true },
      request: get("/x"),
      url: `${APP}/x`,
      host: "127.0.0.1:3000",
    },
    {
      name: "/.ory/* goes to Ory below the prefix, told where it is published",
      request: get("/.ory/self-service/login/browser?return_to=%2Fx", { method: "POST" }),
      url: `${ORY}/self-service/login/browser?return_to=%2Fx`,
      host: "127.0.0.1:4433",
      oryBase: `${PUBLISH}/.ory`,
    },
    {
      name: "/.ory itself is Ory's root",
      request: get("/.ory"),
      url: `${ORY}/`,
      host: "127.0.0.1:4433",
      oryBase: `${PUBLISH}/.ory`,
    },
    {
      name: "the prefix ends at a segment: /.orybit is the app's",
      request: get("/.orybit"),
      url: `${APP}/.orybit`,
      host: "localhost:4000",
    },
    {
      name: "tunnel: everything goes to Ory, at the root of the publish URL",
      options: { command: "tunnel" },
      request: get("/sessions/whoami"),
      url: `${ORY}/sessions/whoami`,
      host: "127.0.0.1:4433",
      oryBase: PUBLISH,
    },
    {
      name: "the canonical target is what is routed and forwarded",
      request: get("/%6Dembers//x"),
      url: `${APP}/members/x`,
      host: "localhost:4000",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { engine, client } = engineWith(c.options);
      const res = await engine(c.request);
      assertEquals(res.status, 200);
      assertEquals(client.seen.length, 1);
      const sent = client.seen[0];
      assertEquals(sent.url.href, c.url);
      assertEquals(sent.method, c.request.method);
      assertEquals(sent.headers.get("host"), c.host);
      assertEquals(sent.upstream, c.oryBase === undefined ? "application" : "Ory");
      assertEquals(sent.headers.get("ory-base-url-rewrite"), c.oryBase ?? null);
      assertEquals(
        sent.headers.get("ory-no-custom-domain-redirect"),
        c.oryBase === undefined ? null : "true",
      );
      engine.close();
    });
  }
});

Deno.test("createProxyEngine() answers built-in routes itself, by exact path", async () => {
  const routes = new Map([["/.ory/jwks.json", () => Response.json({ keys: [] })]]);
  const { engine, client } = engineWith({}, { routes });
  const res = await engine(get("/.ory/jwks.json"));
  assertEquals([res.status, await text(res)], [200, '{"keys":[]}']);
  assertEquals(client.seen.length, 0);
  await engine(get("/.ory/jwks.json/x"));
  assertEquals(client.seen.map((r) => r.url.href), [`${ORY}/jwks.json/x`]);
});

Deno.test("createProxyEngine() asks the gate about application requests", async (t) => {
  await t.step("a gate's answer is the answer; nothing is sent", async () => {
    const asked: string[] = [];
    const { engine, client } = engineWith({}, {
      gate: (_req, _headers, url) => {
        asked.push(url.pathname);
        return new Response("sign in first", { status: 401 });
      },
    });
    const res = await engine(get("/%6Dembers/x"));
    assertEquals([res.status, await text(res)], [401, "sign in first"]);
    assertEquals(asked, ["/members/x"], "the gate sees the canonical path");
    assertEquals(client.seen.length, 0);
  });
  await t.step("a gate may set Authorization for the app, synchronously or not", async () => {
    const info = { remoteAddr: { hostname: "203.0.113.9" } };
    const connections: unknown[] = [];
    const { engine, client } = engineWith({}, {
      gate: (req, headers, _url, connection) => {
        connections.push(connection);
        const set = () => void headers.set("authorization", `Bearer for ${req.method}`);
        if (req.method === "GET") return set();
        return Promise.resolve().then(set);
      },
    });
    await engine(get("/a"), info);
    await engine(get("/b", { method: "DELETE" }), info);
    assertEquals(client.seen.map((r) => r.headers.get("authorization")), [
      "Bearer for GET",
      "Bearer for DELETE",
    ]);
    assertEquals(connections, [info, info], "the gate is given the client connection");
    assertEquals(client.seen[0].headers.get("x-real-ip"), "203.0.113.9");
  });
  await t.step("Ory requests never pass the gate", async () => {
    let asked = 0;
    const { engine, client } = engineWith({}, { gate: () => void asked++ });
    await engine(get("/.ory/sessions/whoami", { headers: { authorization: "Bearer t" } }));
    assertEquals(asked, 0);
    assertEquals(client.seen[0].headers.get("authorization"), "Bearer t");
  });
});

Deno.test("createProxyEngine(): the Ory observer sees the path below the prefix and the answer", async () => {
  const observed: [string, number, string | null][] = [];
  const client = fakeClient(() =>
    reply(303, { location: `${ORY}/self-service/login/browser?flow=1` })
  );
  const { engine } = engineWith({}, {
    observeOry: (_req, path) => (res) => {
      observed.push([path, res.status, res.headers.get("location")]);
    },
  }, client);
  const res = await engine(get("/.ory/self-service/logout?token=t"));
  await engine(get("/not-ory"));
  // What the observer sees is what the client gets: Ory's URL moved onto the publish URL.
  assertEquals(res.headers.get("location"), `${PUBLISH}/.ory/self-service/login/browser?flow=1`);
  assertEquals(observed, [
    ["/self-service/logout", 303, `${PUBLISH}/.ory/self-service/login/browser?flow=1`],
  ]);
});

Deno.test("createProxyEngine() refuses a request before routing it", async (t) => {
  const manyHeaders: Record<string, string> = {};
  for (let i = 0; i <= 100; i++) manyHeaders[`x-h-${i}`] = "1";
  const cases: [string, Request, number, RegExp][] = [
    ["a target routers disagree about", get("/members/..%2fx"), 400, /target was refused/],
    ["a target over 8 KiB", get("/" + "a".repeat(8 * 1024)), 414, /URL is too long/],
    ["over 100 header fields", get("/", { headers: manyHeaders }), 431, /headers are too large/],
    [
      "over 32 KiB of headers",
      get("/", { headers: { "x-big": "b".repeat(32 * 1024) } }),
      431,
      /headers are too large/,
    ],
  ];
  for (const [name, request, status, body] of cases) {
    await t.step(`${name}: ${status}`, async () => {
      let asked = 0;
      const { engine, client } = engineWith({}, { gate: () => void asked++ });
      const res = await engine(request);
      assertEquals(res.status, status);
      assertMatch(await text(res), body);
      assertEquals([client.seen.length, asked], [0, 0], "neither sent nor gated");
    });
  }
});

Deno.test("createProxyEngine() answers CORS preflights without the upstream", async (t) => {
  const preflight = (origin: string) =>
    get("/.ory/sessions/whoami", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "GET" },
    });
  await t.step("an allowed origin is allowed, with credentials", async () => {
    const { engine, client } = engineWith({ allowedCorsOrigins: ["https://*.example.org"] });
    const res = await engine(preflight("https://app.example.org"));
    assertEquals(res.status, 204);
    assertEquals(res.headers.get("access-control-allow-origin"), "https://app.example.org");
    assertEquals(res.headers.get("access-control-allow-credentials"), "true");
    assertEquals(client.seen.length, 0);
  });
  await t.step("another origin gets no allowance", async () => {
    const { engine, client } = engineWith({ allowedCorsOrigins: ["https://*.example.org"] });
    const res = await engine(preflight("https://evil.example.com"));
    assertEquals([res.status, res.headers.get("access-control-allow-origin")], [204, null]);
    assertEquals(client.seen.length, 0);
  });
  await t.step("--dev allows any origin", async () => {
    const { engine } = engineWith({ dev: true });
    const res = await engine(preflight("https://evil.example.com"));
    assertEquals(res.headers.get("access-control-allow-origin"), "https://evil.example.com");
  });
});

Deno.test("createProxyEngine() sets its own CORS and HSTS on upstream answers", async () => {
  const client = fakeClient(() =>
    reply(200, {
      "access-control-allow-origin": "*",
      "strict-transport-security": "max-age=31536000",
    })
  );
  const { engine } = engineWith({}, {}, client);
  const res = await engine(get("/", { headers: { origin: PUBLISH } }));
  assertEquals(res.headers.get("access-control-allow-origin"), PUBLISH);
  // An http publish URL: a browser must not pin HTTPS on it.
  assertEquals(res.headers.get("strict-transport-security"), "max-age=0");
});

Deno.test("createProxyEngine(): an upstream failure is a 502 naming it, logged", async () => {
  const lines: string[] = [];
  const client = fakeClient(() => {
    throw new UpstreamError(
      "ERR_UPSTREAM_UNREACHABLE",
      "Ory",
      "Ory at 127.0.0.1:4433 could not be reached: connection refused",
    );
  });
  const { engine } = engineWith({}, {
    logger: createLogger("quiet", { write: (line) => lines.push(line) }),
  }, client);
  const res = await engine(get("/.ory/sessions/whoami"));
  assertEquals(res.status, 502);
  assertMatch(await text(res), /Ory at 127\.0\.0\.1:4433 could not be reached/);
  assertEquals(lines.length, 1);
  assertMatch(lines[0], /error GET \/\.ory\/sessions\/whoami: Ory at/);
});

Deno.test("engine: an Upgrade request with a body goes upstream as a plain request", async () => {
  const { engine, client } = engineWith();
  const headers = { upgrade: "websocket", connection: "upgrade", "content-type": "text/plain" };
  const info = { joinsUpgrades: true };
  const withBody = await engine(
    new Request(`${PUBLISH}/ws`, { method: "POST", headers, body: "GET /admin" }),
    info,
  );
  const without = await engine(new Request(`${PUBLISH}/ws`, { headers }), info);
  const seen = client.seen;
  assert.equal(withBody.status, 200);
  assert.equal(seen[0].upgrade, undefined, "no tunnel for a request with a body");
  assert.equal(seen[0].headers.get("upgrade"), null);
  assert.equal(seen[1].upgrade, "websocket");
  assert.equal(without.status, 200);
  engine.close();
});

Deno.test("engine: long-lived answers to a request with a session follow that session", async (t) => {
  const session = { key: "k".repeat(64), id: "s-1", expiresAt: Date.now() + 60_000 };
  const followed: { session: unknown; end: () => void; unfollowed: number }[] = [];
  const followSession: ProxyHandlerDeps["followSession"] = (s, _req, end) => {
    const entry = { session: s, end, unfollowed: 0 };
    followed.push(entry);
    return () => void entry.unfollowed++;
  };
  /** A gate that admits requests with a cookie under `session`, and others without one. */
  const gate: ProxyHandlerDeps["gate"] = (req, _h, _u, _c, facts) => {
    if (facts !== undefined && req.headers.has("cookie")) facts.session = session;
  };
  const streaming = () => {
    let c!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (x) => void (c = x) });
    return { body, c };
  };

  await t.step("a streamed body with a session: followed, and end() ends it", async () => {
    followed.length = 0;
    const up = streaming();
    const client = fakeClient(() => ({
      ...reply(200, { "content-type": "text/event-stream" }),
      body: up.body,
    }));
    const { engine } = engineWith({}, { gate, followSession }, client);
    const res = await engine(get("/events", { headers: { cookie: "ory_kratos_session=x" } }));
    assertEquals(followed.length, 1);
    assertEquals(followed[0].session, session);
    up.c.enqueue(new TextEncoder().encode("data: 1\n\n"));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    assertEquals(new TextDecoder().decode((await reader.read()).value), "data: 1\n\n");
    followed[0].end();
    assertEquals((await reader.read()).done, true);
    assertEquals(followed[0].unfollowed, 1);
  });
  await t.step("without a session, or with a whole body: not followed, untouched", async () => {
    followed.length = 0;
    const up = streaming();
    const client = fakeClient((req) =>
      req.url.pathname === "/events" ? { ...reply(200), body: up.body } : reply(200, {}, "ok")
    );
    const { engine } = engineWith({}, { gate, followSession }, client);
    const anonymous = await engine(get("/events"));
    assert(anonymous.body === up.body, "the upstream's own stream, not a wrapper");
    const whole = await engine(get("/page", { headers: { cookie: "ory_kratos_session=x" } }));
    assertEquals(await text(whole), "ok");
    assertEquals(followed.length, 0);
  });
  await t.step("a joined WebSocket with a session: its tunnel ends with it", async () => {
    followed.length = 0;
    let closed = false;
    // A socket's read waits for bytes, and fails once the socket is closed.
    const cut = Promise.withResolvers<number | null>();
    const conn = {
      read: () => cut.promise,
      write: (p: Uint8Array) => Promise.resolve(p.byteLength),
      close: () => {
        closed = true;
        cut.reject(new Deno.errors.Interrupted("closed"));
      },
    };
    const client = fakeClient(() => ({
      ...reply(101),
      upgraded: { conn, leftover: new Uint8Array() },
    }));
    const { engine } = engineWith({}, { gate, followSession }, client);
    const headers = { upgrade: "websocket", connection: "upgrade", cookie: "ory_kratos_session=x" };
    const res = await engine(new Request(`${PUBLISH}/ws`, { headers }), { joinsUpgrades: true });
    assertEquals(res.status, 101);
    assert(res.upgraded !== undefined && res.upgraded.conn !== conn, "a wrapper stands in");
    assertEquals(followed.length, 1);
    const buf = new Uint8Array(64);
    const reading = res.upgraded.conn.read(buf);
    followed[0].end();
    const n = await reading;
    assertEquals([buf[0], buf[1], (buf[2] << 8) | buf[3]], [0x88, n! - 2, 1008]);
    assert(closed, "the upstream is closed");
    res.upgraded.conn.close();
    assertEquals(followed[0].unfollowed, 1);
  });
});
