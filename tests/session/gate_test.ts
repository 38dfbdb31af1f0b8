import { createLocalJWKSet, jwtVerify } from "jose";
import { createJwksRoute } from "../../src/jwt/jwks.ts";
import { generateSigningKey } from "../../src/jwt/keys.ts";
import { createMinter } from "../../src/jwt/mint.ts";
import { createTtlCache } from "../../src/session/cache.ts";
import { createSessionGate, type SessionEntry } from "../../src/session/gate.ts";
import { type AccessRuleFlags, compileAccessRules } from "../../src/session/access_rules.ts";
import type { OrySession } from "../../src/jwt/mint.ts";
import type { Credentials } from "../../src/session/credentials.ts";
import type { WhoamiResult } from "../../src/session/whoami.ts";
import { NO_METRICS } from "../../src/metrics/metrics.ts";
import { assertEquals } from "../_support/assert.ts";

const publishOrigin = "http://localhost:4000";
const HOUR = 3600_000;

async function setup(
  answer: (cred: Credentials) => WhoamiResult,
  options: AccessRuleFlags & { jwt?: boolean; identityHeaders?: boolean } = {},
) {
  let now = Date.parse("2030-01-01T00:00:00Z");
  const clock = () => now;
  const calls: string[] = [];
  const denials: string[] = [];
  const key = await generateSigningKey();
  const gate = createSessionGate({
    whoami: (c) => (calls.push(c.key), Promise.resolve(answer(c))),
    cache: createTtlCache<SessionEntry>({ maxEntries: 100, now: clock }),
    cacheTtlMs: 10_000,
    mint: options.jwt === false
      ? undefined
      : createMinter({ key, issuer: "http://ory", ttlSeconds: 60, now: clock }),
    requirementsFor: compileAccessRules(options),
    identityHeaders: options.identityHeaders,
    publishOrigin,
    oryPublicBase: "http://localhost:4000/.ory",
    now: clock,
    metrics: { ...NO_METRICS, protectionDenial: (kind) => void denials.push(kind) },
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
  return { run, gate, calls, denials, jwks, advance: (ms: number) => (now += ms), clock };
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

/** An active session with `fields` (identity fields go under `identity`). */
const withSession = (
  fields: { aal?: string; identity?: Record<string, unknown> } = {},
): WhoamiResult => ({
  kind: "active",
  session: {
    id: "s1",
    active: true,
    authenticator_assurance_level: fields.aal ?? "aal1",
    identity: { id: "id-1", ...fields.identity },
  } as OrySession,
  expiresAt: Date.parse("2030-01-01T00:00:00Z") + HOUR,
});

const BROWSER = { "sec-fetch-mode": "navigate", cookie: "ory_kratos_session=abc" };
const API = { accept: "application/json", cookie: "ory_kratos_session=abc" };
const unverified = [{ via: "email", value: "a@example.com", verified: false }];
const verified = [{ via: "email", value: "a@example.com", verified: true }];
const returnTo = (path: string) => encodeURIComponent(`http://localhost:4000${path}`);
const ORY = "http://localhost:4000/.ory";

Deno.test("session gate: rules beyond a session", async (t) => {
  const rules: AccessRuleFlags = {
    aal2: ["/billing"],
    verifiedEmail: ["/inbox", "/billing"],
    identity: ["/admin metadata_public.roles=admin", "/admin schema_id!=guest"],
  };
  // [name, session, path, headers, status (undefined: through), location or JSON error id]
  const cases: [string, WhoamiResult, string, Record<string, string>, number?, string?][] = [
    [
      "AAL1 on an AAL2 path, browser → step-up login with return_to",
      withSession({ identity: { verifiable_addresses: verified } }),
      "/billing/x?y=1",
      BROWSER,
      303,
      `${ORY}/self-service/login/browser?aal=aal2&return_to=${returnTo("/billing/x?y=1")}`,
    ],
    [
      "AAL1 on an AAL2 path, API → 403 session_aal2_required",
      withSession({ identity: { verifiable_addresses: verified } }),
      "/billing",
      API,
      403,
      "session_aal2_required",
    ],
    [
      "AAL2 on an AAL2 path → through",
      withSession({ aal: "aal2", identity: { verifiable_addresses: verified } }),
      "/billing",
      API,
    ],
    [
      "unverified, browser → the verification flow with return_to",
      withSession({ identity: { verifiable_addresses: unverified } }),
      "/inbox?q=a%20b",
      BROWSER,
      303,
      `${ORY}/self-service/verification/browser?return_to=${returnTo("/inbox?q=a%20b")}`,
    ],
    [
      "unverified, API → 403 session_verified_address_required",
      withSession({ identity: { verifiable_addresses: unverified } }),
      "/inbox",
      API,
      403,
      "session_verified_address_required",
    ],
    [
      "a verified phone number is not a verified email",
      withSession({
        identity: { verifiable_addresses: [{ via: "sms", value: "+1", verified: true }] },
      }),
      "/inbox",
      API,
      403,
      "session_verified_address_required",
    ],
    [
      "no verifiable addresses at all: unverified",
      withSession(),
      "/inbox",
      API,
      403,
      "session_verified_address_required",
    ],
    [
      "a second, verified email address is enough",
      withSession({ identity: { verifiable_addresses: [...unverified, ...verified] } }),
      "/inbox",
      API,
    ],
    [
      "both unverified and AAL1: verification first",
      withSession({ identity: { verifiable_addresses: unverified } }),
      "/billing",
      API,
      403,
      "session_verified_address_required",
    ],
    [
      "an identity condition that fails → 403 for the API (no id: herodot's ErrForbidden)",
      withSession({ identity: { metadata_public: { roles: ["dev"] } } }),
      "/admin",
      API,
      403,
      "",
    ],
    [
      "an identity condition that fails → 403 for a browser too, never a redirect",
      withSession({ identity: { metadata_public: { roles: "dev" } } }),
      "/admin/users",
      BROWSER,
      403,
    ],
    [
      "the role is one of several: through",
      withSession({
        identity: { schema_id: "staff", metadata_public: { roles: ["dev", "admin"] } },
      }),
      "/admin",
      API,
    ],
    [
      "every condition on a path must hold",
      withSession({ identity: { schema_id: "guest", metadata_public: { roles: ["admin"] } } }),
      "/admin",
      API,
      403,
      "",
    ],
    [
      "paths without rules pass whatever the session lacks",
      withSession({ identity: { metadata_public: {} } }),
      "/public",
      BROWSER,
    ],
    [
      "a rule flag also protects: no session, browser → the plain login",
      { kind: "none" },
      "/billing",
      BROWSER,
      303,
      `${ORY}/self-service/login/browser?return_to=${returnTo("/billing")}`,
    ],
    [
      "a rule flag also protects: no session, API → 401",
      { kind: "none" },
      "/admin",
      API,
      401,
    ],
    [
      "whoami's session_aal2_required on a protected path, browser → step-up login",
      { kind: "aal2_required" },
      "/inbox",
      BROWSER,
      303,
      `${ORY}/self-service/login/browser?aal=aal2&return_to=${returnTo("/inbox")}`,
    ],
    [
      "whoami's session_aal2_required on a protected path, API → 403",
      { kind: "aal2_required" },
      "/admin",
      API,
      403,
      "session_aal2_required",
    ],
    [
      "whoami's session_aal2_required elsewhere → through, without a JWT",
      { kind: "aal2_required" },
      "/public",
      API,
    ],
    [
      "an undecodable path needs everything (fail closed)",
      withSession({ aal: "aal2", identity: { verifiable_addresses: verified } }),
      "/%E0%A4%A",
      API,
      403,
      "",
    ],
  ];
  for (const [name, answer, path, headers, status, where] of cases) {
    await t.step(name, async () => {
      const s = await setup(() => answer, rules);
      const { res, out } = await s.run(path, headers);
      assertEquals(res?.status, status);
      if (status === undefined) {
        const minted = answer.kind === "active";
        assertEquals(out.get("authorization")?.startsWith("Bearer ey") ?? false, minted);
        return;
      }
      assertEquals(out.has("authorization"), false);
      assertEquals(res!.headers.get("cache-control"), "no-store");
      if (status === 303) return assertEquals(res!.headers.get("location"), where);
      if (status !== 403) return void await res!.body?.cancel();
      if (where === undefined) {
        assertEquals(res!.headers.get("content-type"), "text/html; charset=utf-8");
        assertEquals((await res!.text()).includes("403 Forbidden"), true);
        return;
      }
      const body = await res!.json();
      assertEquals(body.error.code, 403);
      assertEquals(body.error.status, "Forbidden");
      assertEquals(body.error.id ?? "", where);
      if (where === "") {
        assertEquals(body.error.message, "The requested action was forbidden");
        assertEquals("redirect_browser_to" in body, false);
        return;
      }
      const flow = where === "session_aal2_required"
        ? `${ORY}/self-service/login/browser?aal=aal2&return_to=`
        : `${ORY}/self-service/verification/browser?return_to=`;
      assertEquals(body.redirect_browser_to, flow + returnTo(path));
      assertEquals(body.error.details.redirect_browser_to, body.redirect_browser_to);
    });
  }
  await t.step("denials are counted by kind", async () => {
    const s = await setup(() => withSession(), rules);
    await s.run("/billing", BROWSER);
    await s.run("/billing", API);
    await s.run("/admin", BROWSER);
    await s.run("/admin", { accept: "application/json" });
    assertEquals(s.denials, ["redirect", "forbidden", "forbidden", "unauthorized"]);
  });
  await t.step("a session that fails a rule is still one whoami call, cached", async () => {
    const s = await setup(() => withSession(), rules);
    for (let i = 0; i < 3; i++) await s.run("/billing", API);
    await s.run("/public", API);
    assertEquals(s.calls.length, 1);
  });
});

Deno.test("session gate: --identity-headers", async (t) => {
  const session = withSession({
    aal: "aal2",
    identity: { traits: { email: "t@example.com" }, verifiable_addresses: verified },
  });
  await t.step(
    "an active session's identity, even with --no-jwt on a path without rules",
    async () => {
      const s = await setup(() => session, { jwt: false, identityHeaders: true });
      const { res, out } = await s.run("/", { cookie: "ory_kratos_session=abc" });
      assertEquals(res, undefined);
      assertEquals(out.get("x-ory-identity-id"), "id-1");
      assertEquals(out.get("x-ory-session-id"), "s1");
      assertEquals(out.get("x-ory-identity-email"), "a@example.com");
      assertEquals(out.get("x-ory-aal"), "aal2");
    },
  );
  await t.step("traits.email when no verifiable address is an email", async () => {
    const s = await setup(
      () => withSession({ identity: { traits: { email: "t@example.com" } } }),
      { identityHeaders: true },
    );
    const { out } = await s.run("/", { cookie: "ory_kratos_session=abc" });
    assertEquals(out.get("x-ory-identity-email"), "t@example.com");
    assertEquals(out.get("x-ory-aal"), "aal1");
  });
  await t.step("no session, or without the flag: none set", async () => {
    const none = await setup(() => ({ kind: "none" }), { identityHeaders: true });
    const a = await none.run("/", { cookie: "ory_kratos_session=abc" });
    const off = await setup(() => session);
    const b = await off.run("/", { cookie: "ory_kratos_session=abc" });
    for (const out of [a.out, b.out]) {
      assertEquals([...out.keys()].filter((k) => k.startsWith("x-ory-")), []);
    }
  });
  await t.step("--no-jwt without the flag or rules still costs no whoami call", async () => {
    const s = await setup(() => session, { jwt: false });
    await s.run("/", { cookie: "ory_kratos_session=abc" });
    assertEquals(s.calls.length, 0);
  });
});
