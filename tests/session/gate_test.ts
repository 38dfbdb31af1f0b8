import { createLocalJWKSet, jwtVerify } from "jose";
import { createJwksRoute } from "../../src/jwt/jwks.ts";
import { generateSigningKey } from "../../src/jwt/keys.ts";
import { createMinter } from "../../src/jwt/mint.ts";
import { createTtlCache } from "../../src/session/cache.ts";
import { createSessionGate, type SessionEntry } from "../../src/session/gate.ts";
import { compileProtection } from "../../src/session/protect.ts";
import type { Credentials } from "../../src/session/credentials.ts";
import type { WhoamiResult } from "../../src/session/whoami.ts";
import { assertEquals } from "../_support/assert.ts";

const publishOrigin = "http://localhost:4000";
const HOUR = 3600_000;

async function setup(
  answer: (cred: Credentials) => WhoamiResult,
  options: { protect?: string[]; jwt?: boolean } = {},
) {
  let now = Date.parse("2030-01-01T00:00:00Z");
  const clock = () => now;
  const calls: string[] = [];
  const key = await generateSigningKey();
  const gate = createSessionGate({
    whoami: (c) => (calls.push(c.key), Promise.resolve(answer(c))),
    cache: createTtlCache<SessionEntry>({ maxEntries: 100, now: clock }),
    cacheTtlMs: 10_000,
    mint: options.jwt === false
      ? undefined
      : createMinter({ key, issuer: "http://ory", ttlSeconds: 60, now: clock }),
    isProtected: compileProtection(options.protect ?? []),
    publishOrigin,
    oryPublicBase: "http://localhost:4000/.ory",
    now: clock,
  });
  const jwks = createLocalJWKSet(
    await (createJwksRoute({ keys: [key] })(new Request("http://x/"))).json(),
  );
  const run = async (
    path: string,
    headers: Record<string, string> = {},
    connection?: object,
  ) => {
    const req = new Request(`http://localhost:4000${path}`, { headers });
    const out = new Headers(headers);
    const res = await gate(req, out, new URL(req.url), connection);
    return { res, out };
  };
  return { run, gate, calls, jwks, advance: (ms: number) => (now += ms), clock };
}

const session = (expiresInMs = HOUR): WhoamiResult => ({
  kind: "active",
  session: { id: "s1", active: true, identity: { id: "id-1" } },
  expiresAt: Date.parse("2030-01-01T00:00:00Z") + expiresInMs,
});

Deno.test("session gate", async (t) => {
  await t.step("no credential: no whoami call, forged Authorization removed", async () => {
    const s = await setup(() => session());
    const { res, out } = await s.run("/", {
      authorization: "Bearer forged.jwt.value",
      "x-session-token": "x",
    });
    // A Bearer value is a candidate session token, so it is checked once: here it's unknown.
    assertEquals(res, undefined);
    assertEquals(
      out.has("authorization") && out.get("authorization") === "Bearer forged.jwt.value",
      false,
    );
    assertEquals(out.has("x-session-token"), false);
    const plain = await s.run("/", { cookie: "theme=dark" });
    assertEquals(plain.res, undefined);
    assertEquals(s.calls.length, 1);
  });
  await t.step("an active session gets a JWT that verifies, with the right claims", async () => {
    const s = await setup(() => session());
    const { out } = await s.run("/", { cookie: "ory_kratos_session=abc" });
    const token = out.get("authorization")!.replace("Bearer ", "");
    const { payload, protectedHeader } = await jwtVerify(token, s.jwks, {
      currentDate: new Date(s.clock()),
    });
    assertEquals(protectedHeader.alg, "ES256");
    assertEquals(typeof protectedHeader.kid, "string");
    assertEquals(payload.sub, "id-1");
    assertEquals(payload.iss, "http://ory");
    assertEquals(payload.exp! - payload.iat!, 60);
    assertEquals((payload.session as { id: string }).id, "s1");
    assertEquals(typeof payload.jti, "string");
  });
  await t.step("whoami is cached per credential for the TTL, then asked again", async () => {
    const s = await setup(() => session());
    for (let i = 0; i < 5; i++) await s.run("/", { cookie: "ory_kratos_session=abc" });
    assertEquals(s.calls.length, 1);
    await s.run("/", { cookie: "ory_kratos_session=other" });
    assertEquals(s.calls.length, 2);
    s.advance(10_001);
    await s.run("/", { cookie: "ory_kratos_session=abc" });
    assertEquals(s.calls.length, 3);
  });
  await t.step("one connection changing its cookie never keeps the earlier session", async () => {
    // The gate remembers a connection's last credentials; a new cookie must be looked up anew.
    const s = await setup((c) =>
      c.cookie === "ory_kratos_session=alice"
        ? session()
        : { kind: "active", session: { id: "s2", active: true, identity: { id: "id-2" } } }
    );
    const connection = {};
    const sub = async (cookie: string) => {
      const { out } = await s.run("/", { cookie }, connection);
      const token = out.get("authorization")!.slice("Bearer ".length);
      return (await jwtVerify(token, s.jwks, { currentDate: new Date(s.clock()) })).payload.sub;
    };
    assertEquals(await sub("ory_kratos_session=alice"), "id-1");
    assertEquals(await sub("ory_kratos_session=alice"), "id-1");
    assertEquals(await sub("ory_kratos_session=bob"), "id-2");
    assertEquals(await sub("ory_kratos_session=alice"), "id-1");
    const anonymous = await s.run("/", {}, connection);
    assertEquals(anonymous.out.has("authorization"), false);
    assertEquals(s.calls.length, 2); // alice once, bob once: the cache still works
  });
  await t.step("a cached session is answered without a promise (the hot path)", async () => {
    const s = await setup(() => session());
    await s.run("/", { cookie: "ory_kratos_session=abc" }); // looks it up and mints
    const gate = s.gate;
    const headers = new Headers();
    const req = new Request("http://localhost:4000/", {
      headers: { cookie: "ory_kratos_session=abc" },
    });
    const answer = gate(req, headers, new URL(req.url), {});
    assertEquals(answer instanceof Promise, false);
    assertEquals(headers.get("authorization")?.startsWith("Bearer "), true);
  });
  await t.step("the JWT is reused while fresh and re-minted past half its life", async () => {
    const s = await setup(() => session());
    const a = (await s.run("/", { cookie: "ory_kratos_session=abc" })).out.get("authorization");
    s.advance(5_000);
    const b = (await s.run("/", { cookie: "ory_kratos_session=abc" })).out.get("authorization");
    assertEquals(a, b);
  });
  await t.step("JWT and cache never outlive the session", async () => {
    const s = await setup(() => session(20_000));
    const { out } = await s.run("/", { cookie: "ory_kratos_session=abc" });
    const { payload } = await jwtVerify(out.get("authorization")!.slice(7), s.jwks, {
      currentDate: new Date(s.clock()),
    });
    assertEquals(payload.exp! - payload.iat!, 20);
    s.advance(20_001);
    const after = await s.run("/members", { cookie: "ory_kratos_session=abc" });
    assertEquals(s.calls.length, 2); // the cache entry ended with the session: Ory was asked again
    assertEquals(after.out.has("authorization"), false); // and an expired session gets no JWT
  });
  await t.step("an expired session answer is never turned into a JWT", async () => {
    const s = await setup(() => session(-1000), { protect: ["/members"] });
    const { res, out } = await s.run("/members", {
      cookie: "ory_kratos_session=abc",
      accept: "application/json",
    });
    assertEquals(res?.status, 401);
    assertEquals(out.has("authorization"), false);
  });
  await t.step("protected path, browser navigation → login redirect with return_to", async () => {
    const s = await setup(() => ({ kind: "none" }), { protect: ["/members"] });
    const { res } = await s.run("/members/x?y=1", {
      "sec-fetch-mode": "navigate",
      host: "evil.example",
    });
    assertEquals(res?.status, 303);
    assertEquals(
      res?.headers.get("location"),
      "http://localhost:4000/.ory/self-service/login/browser?return_to=" +
        encodeURIComponent("http://localhost:4000/members/x?y=1"),
    );
  });
  await t.step("protected path, API client → 401 JSON", async () => {
    const s = await setup(() => ({ kind: "none" }), { protect: ["/members"] });
    const { res } = await s.run("/members", { "sec-fetch-mode": "cors", accept: "text/html" });
    assertEquals(res?.status, 401);
    assertEquals((await res!.json()).error.code, 401);
  });
  await t.step("Ory failing: protected → 503, unprotected → through without JWT", async () => {
    const s = await setup(() => ({ kind: "error", reason: "down" }), { protect: ["/members"] });
    const p = await s.run("/members", { cookie: "ory_kratos_session=abc" });
    assertEquals(p.res?.status, 503);
    const u = await s.run("/", { cookie: "ory_kratos_session=abc", authorization: "Bearer x" });
    assertEquals(u.res, undefined);
    assertEquals(u.out.has("authorization"), false);
    // errors are not cached
    assertEquals(s.calls.length, 2);
  });
  await t.step("rate limited: 503 with Retry-After, not a login redirect", async () => {
    const s = await setup(() => ({ kind: "error", reason: "429", retryAfter: 3 }), {
      protect: ["/members"],
    });
    const { res } = await s.run("/members", {
      cookie: "ory_kratos_session=abc",
      "sec-fetch-mode": "navigate",
    });
    assertEquals(res?.status, 503);
    assertEquals(res?.headers.get("retry-after"), "3");
  });
  await t.step("--no-jwt leaves headers alone on unprotected paths and makes no call", async () => {
    const s = await setup(() => session(), { jwt: false, protect: ["/members"] });
    const { out } = await s.run("/", {
      cookie: "ory_kratos_session=abc",
      authorization: "Bearer app-token",
    });
    assertEquals(out.get("authorization"), "Bearer app-token");
    assertEquals(s.calls.length, 0);
  });
});
