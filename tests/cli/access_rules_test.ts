/**
 * The access rules (`--require-aal2`, `--require-verified-email`, `--require-identity`) and
 * `--identity-headers` through the real CLI, against the test app and the Ory stand-in: each
 * rule's answers to browsers and API clients, the cached session dropped when a flow that
 * fixes it succeeds (so nobody goes round the flow again), identity headers set only by
 * orygate, and malformed flags refused with one line.
 */
import { type CliProcess, runCliOnce, startCli } from "../_support/cli.ts";
import { type FakeOry, type FakeSession, startFakeOry } from "../_support/fake_ory.ts";
import { aal2RequiredBody } from "../_support/kratos_errors.ts";
import { startTestApp, type TestApp } from "../_support/test_app.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

const BROWSER = { "sec-fetch-mode": "navigate", accept: "text/html" };
const API = { accept: "application/json" };

/** Sends a request head as raw bytes and reads the answer to the close. */
async function raw(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head));
  return new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
}

/** The headers the test app received, from its JSON echo in a raw answer. */
function echoed(answer: string): Record<string, string> {
  assertMatch(answer, /^HTTP\/1\.1 200 /);
  return JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).headers;
}

Deno.test("access rules and identity headers through the CLI", opts, async (t) => {
  const app: TestApp = startTestApp();
  const ory: FakeOry = startFakeOry();
  const common = ["proxy", app.origin, "--sdk-url", ory.origin, "--quiet"];
  // A long cache TTL: only dropping the entry can let a fixed session through at once.
  const ruled: CliProcess = await startCli([
    ...common,
    "--session-cache-ttl",
    "1h",
    "--protect-path-prefix",
    "/members",
    "--require-aal2",
    "/billing",
    "--require-aal2",
    "re:^/api/v\\d+/admin",
    "--require-verified-email",
    "/inbox/*",
    "--require-identity",
    "/admin metadata_public.roles=admin",
    "--require-identity",
    "/team traits.team=core",
    "--identity-headers",
  ]);
  const plain: CliProcess = await startCli(common);
  const session = (token: string, fields: Partial<FakeSession> = {}) => {
    ory.sessions.set(token, {
      id: `s-${token}`,
      identityId: `i-${token}`,
      email: `${token}@example.com`,
      ...fields,
    });
    return { cookie: `ory_kratos_session=${token}` };
  };
  const get = async (path: string, headers: Record<string, string>, proxy = ruled) => {
    const res = await fetch(`${proxy.url}${path}`, { headers, redirect: "manual" });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  };
  const returnTo = (path: string) => encodeURIComponent(`${ruled.url}${path}`);
  /** Submits a self-service flow form through the proxy; resolves to the status. */
  const submit = async (flow: string, credential: Record<string, string>, body: string) => {
    const res = await fetch(`${ruled.url}/.ory/self-service/${flow}?flow=f`, {
      method: "POST",
      headers: { ...credential, "content-type": "application/x-www-form-urlencoded" },
      body,
      redirect: "manual",
    });
    await res.body?.cancel();
    return { status: res.status, cookie: res.headers.get("set-cookie") };
  };

  try {
    await t.step("AAL1 on an AAL2 path: browser → step-up login, API → 403 as Kratos", async () => {
      const cookie = session("aal1");
      const nav = await get("/billing/x?y=1", { ...BROWSER, ...cookie });
      assertEquals(nav.status, 303);
      const stepUp = `${ruled.url}/.ory/self-service/login/browser?aal=aal2&return_to=${
        returnTo("/billing/x?y=1")
      }`;
      assertEquals(nav.headers.get("location"), stepUp);
      const api = await get("/API/v2/admin/users", { ...API, ...cookie });
      assertEquals(api.status, 403);
      assertEquals(api.headers.get("content-type"), "application/json");
      const body = JSON.parse(api.text);
      const to = `${ruled.url}/.ory/self-service/login/browser?aal=aal2&return_to=${
        returnTo("/API/v2/admin/users")
      }`;
      assertEquals(body, aal2RequiredBody(to));
      const aal2 = session("aal2", { aal: "aal2" });
      assertEquals((await get("/billing", { ...API, ...aal2 })).status, 200);
    });

    await t.step("a rule flag also protects: no session → the plain login or 401", async () => {
      const nav = await get("/billing", BROWSER);
      assertEquals(nav.status, 303);
      assertEquals(
        nav.headers.get("location"),
        `${ruled.url}/.ory/self-service/login/browser?return_to=${returnTo("/billing")}`,
      );
      assertEquals((await get("/inbox", API)).status, 401);
      assertEquals((await get("/%61dmin", API)).status, 401);
      assertEquals((await get("/team", API)).status, 401);
    });

    await t.step("unverified: browser → verification flow, API → 403", async () => {
      const cookie = session("unverified", {
        verifiableAddresses: [{ via: "email", value: "u@example.com", verified: false }],
      });
      const nav = await get("/inbox", { ...BROWSER, ...cookie });
      assertEquals(nav.status, 303);
      assertEquals(
        nav.headers.get("location"),
        `${ruled.url}/.ory/self-service/verification/browser?return_to=${returnTo("/inbox")}`,
      );
      const api = JSON.parse((await get("/inbox/1", { ...API, ...cookie })).text);
      assertEquals(api.error.id, "session_verified_address_required");
      assertEquals(api.error.code, 403);
      assertEquals(
        api.redirect_browser_to,
        `${ruled.url}/.ory/self-service/verification/browser?return_to=${returnTo("/inbox/1")}`,
      );
    });

    await t.step("an identity condition that fails: 403 for both, never a redirect", async () => {
      const cookie = session("dev", { metadataPublic: { roles: ["dev"] } });
      const nav = await get("/admin", { ...BROWSER, ...cookie });
      assertEquals(nav.status, 403);
      assertEquals(nav.headers.get("location"), null);
      assertMatch(nav.text, /403 Forbidden/);
      const api = await get("/ADMIN/", { ...API, ...cookie });
      assertEquals(api.status, 403);
      assertEquals(JSON.parse(api.text).error.message, "The requested action was forbidden");
      const admin = session("admin", { metadataPublic: { roles: ["dev", "admin"] } });
      assertEquals((await get("/admin", { ...API, ...admin })).status, 200);
      // Paths without rules are not affected by what a session lacks.
      assertEquals((await get("/public", { ...API, ...cookie })).status, 200);
    });

    await t.step("Kratos's whoami 403 session_aal2_required means 'step up'", async () => {
      const cookie = session("highest", { aal2Required: true });
      const nav = await get("/members", { ...BROWSER, ...cookie });
      assertEquals(nav.status, 303);
      assertEquals(
        nav.headers.get("location"),
        `${ruled.url}/.ory/self-service/login/browser?aal=aal2&return_to=${returnTo("/members")}`,
      );
      const api = await get("/members", { ...API, ...cookie });
      assertEquals([api.status, JSON.parse(api.text).error.id], [403, "session_aal2_required"]);
      // On a path without rules it passes, as a request without a session would.
      const open = JSON.parse((await get("/open", { ...API, ...cookie })).text);
      assertEquals(open.headers.authorization, undefined);
    });

    await t.step("a verification through the proxy drops the cached session: no loop", async () => {
      const cookie = session("verify", {
        verifiableAddresses: [{ via: "email", value: "v@example.com", verified: false }],
      });
      assertEquals((await get("/inbox", { ...BROWSER, ...cookie })).status, 303);
      const calls = ory.whoamiCalls;
      // A wrong code (Ory answers 400) changes nothing and drops nothing.
      assertEquals((await submit("verification", cookie, "code=000000")).status, 400);
      assertEquals((await get("/inbox", { ...BROWSER, ...cookie })).status, 303);
      assertEquals(ory.whoamiCalls, calls);
      // Success: a redirect, and no cookie that would have dropped the entry anyway.
      assertEquals(await submit("verification", cookie, "code=123456"), {
        status: 303,
        cookie: null,
      });
      assertEquals((await get("/inbox", { ...BROWSER, ...cookie })).status, 200);
      assertEquals(ory.whoamiCalls, calls + 1);
    });

    await t.step("an AAL2 login through the proxy (API flow, a token) drops it too", async () => {
      ory.sessions.set("stepup", { id: "s-up", identityId: "i-up", email: "up@example.com" });
      const token = { "x-session-token": "stepup" };
      assertEquals((await get("/billing", { ...API, ...token })).status, 403);
      assertEquals(await submit("login", token, "method=totp&code=123456"), {
        status: 200,
        cookie: null,
      });
      assertEquals((await get("/billing", { ...API, ...token })).status, 200);
    });

    await t.step("a settings update through the proxy drops it too", async () => {
      const cookie = session("settings", { traits: { team: "web" } });
      assertEquals((await get("/team", { ...API, ...cookie })).status, 403);
      const traits = encodeURIComponent('{"team":"core"}');
      assertEquals((await submit("settings", cookie, `code=123456&traits=${traits}`)).status, 200);
      assertEquals((await get("/team", { ...API, ...cookie })).status, 200);
    });

    await t.step("starting or reading a flow drops nothing", async () => {
      const cookie = session("reader");
      await get("/open", { ...API, ...cookie });
      const calls = ory.whoamiCalls;
      await get("/.ory/self-service/login/browser?aal=aal2", { ...BROWSER, ...cookie });
      await get("/.ory/self-service/login/flows?id=abc", { ...API, ...cookie });
      await get("/open", { ...API, ...cookie });
      assertEquals(ory.whoamiCalls, calls);
    });

    // Spellings a client might try: any case, repeated, `_` for `-`, listed in Connection.
    const forged = "X-Ory-Identity-Id: forged\r\nx-ory-identity-id: forged-again\r\n" +
      "X-ORY-SESSION-ID: forged\r\nx-Ory-Identity-Email: ceo@example.com\r\n" +
      "X-Ory-Aal: aal2\r\nX_Ory_Identity_Id: forged\r\nX-Ory-Identity_Email: forged\r\n" +
      "X_ORY_AAL: aal2\r\n";
    const request = (path: string, extra: string) =>
      `GET ${path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n${extra}` +
      "Connection: close\r\n\r\n";
    const oryHeaders = (headers: Record<string, string>) =>
      Object.fromEntries(Object.entries(headers).filter(([k]) => /ory/i.test(k)));

    await t.step("--identity-headers: the session's identity, never the client's", async () => {
      session("ada", {
        aal: "aal2",
        verifiableAddresses: [{ via: "email", value: "ada@example.com", verified: true }],
      });
      const headers = echoed(
        await raw(ruled.port, request("/echo", forged + "Cookie: ory_kratos_session=ada\r\n")),
      );
      assertEquals(oryHeaders(headers), {
        "x-ory-identity-id": "i-ada",
        "x-ory-session-id": "s-ada",
        "x-ory-identity-email": "ada@example.com",
        "x-ory-aal": "aal2",
      });
      // Without a session there is nothing to say, and the forged copies are gone.
      assertEquals(oryHeaders(echoed(await raw(ruled.port, request("/echo", forged)))), {});
      // Listed in Connection, the client's copies are hop-by-hop: orygate's still arrive.
      const listed = echoed(
        await raw(
          ruled.port,
          request(
            "/echo",
            "Cookie: ory_kratos_session=ada\r\nX-Ory-Aal: aal1\r\nConnection: x-ory-aal\r\n",
          ),
        ),
      );
      assertEquals(listed["x-ory-aal"], "aal2");
    });

    await t.step(
      "without --identity-headers a client's copies are removed all the same",
      async () => {
        const withSession = echoed(
          await raw(plain.port, request("/echo", forged + "Cookie: ory_kratos_session=ada\r\n")),
        );
        assertEquals(oryHeaders(withSession), {});
        assertEquals(withSession.authorization?.startsWith("Bearer "), true);
        assertEquals(oryHeaders(echoed(await raw(plain.port, request("/echo", forged)))), {});
        // Ory never gets them either.
        await raw(plain.port, request("/.ory/anything", forged));
        const seen = ory.requests.findLast((r) => r.path === "/anything")!;
        assertEquals([...seen.headers.keys()].filter((k) => k.startsWith("x-ory")), []);
      },
    );
  } finally {
    await ruled.stop();
    await plain.stop();
    await app.close();
    await ory.close();
  }
});

Deno.test("malformed rule flags exit 2 with one line", opts, async (t) => {
  const base = ["proxy", "http://localhost:3000", "--sdk-url", "http://127.0.0.1:1"];
  const cases: [string[], RegExp][] = [
    [["--require-aal2", "re:("], /^Cannot use --require-aal2 "re:\(": not a regular expression/],
    [["--require-aal2", "billing"], /^Cannot use --require-aal2 "billing": a rule starts/],
    [["--require-verified-email", "/a/../b"], /--require-verified-email "\/a\/..\/b"/],
    [["--require-identity", "/admin"], /--require-identity "\/admin": it needs a path rule/],
    [["--require-identity", "/admin role=admin"], /"role" is not schema_id, traits/],
    [["--require-identity", "/admin traits.role"], /has no = or !=/],
    [["--require-identity", "/admin traits.role="], /no value after =/],
    [["--require-identity", "/x{ traits.a=b"], /--require-identity "\/x\{": not a URLPattern/],
    [["--require-aal2"], /argument missing/],
  ];
  for (const [args, message] of cases) {
    await t.step(args.join(" "), async () => {
      const { code, stderr } = await runCliOnce([...base, ...args]);
      assertEquals(code, 2, stderr);
      assertEquals(stderr.trim().split("\n").length, 1, stderr);
      assertMatch(stderr.trim().replace(/^(orygate|error): /, ""), message);
    });
  }
});
