/**
 * The session features' wiring around long-lived connections, with a fake whoami (no sockets):
 * which answers Ory sends through the proxy close a session's connections at once, which only
 * make orygate ask Ory again, and what happens to an answer followed after its session was
 * purged.
 */
import { parseConfig } from "../../src/config/parse.ts";
import type { GateFacts, ObservedResponse } from "../../src/proxy/contracts.ts";
import { createLogger } from "../../src/log/logger.ts";
import { createSessionFeatures } from "../../src/session/features.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const PUBLISH = "http://localhost:4000";

async function setup() {
  const active = new Set<string>();
  const asked: string[] = [];
  const fakeFetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const token = /ory_kratos_session=([^;]+)/.exec(new Headers(init?.headers).get("cookie") ?? "")
      ?.[1] ?? "";
    asked.push(`${new URL(String(input)).pathname} ${token}`);
    if (!active.has(token)) return Promise.resolve(new Response("{}", { status: 401 }));
    return Promise.resolve(Response.json({
      id: `s-${token}`,
      active: true,
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      identity: { id: `i-${token}` },
    }));
  };
  const config = parseConfig({
    command: "proxy",
    appUrl: "http://127.0.0.1:3000",
    options: { sdkUrl: "http://127.0.0.1:4433", quiet: true, sessionRecheckInterval: "0" },
    env: {},
  });
  const features = (await createSessionFeatures(config, {
    logger: createLogger("quiet"),
    fetch: fakeFetch as typeof fetch,
  }))!;

  const request = (path: string, token: string) =>
    new Request(PUBLISH + path, { headers: { cookie: `ory_kratos_session=${token}` } });

  /** An app request with `token`'s session, answered with a stream that is then followed. */
  const openStream = async (token: string) => {
    const req = request("/events", token);
    const facts: GateFacts = {};
    await features.gate(req, new Headers(), new URL(req.url), undefined, facts);
    assert(facts.session !== undefined, "the gate names the session it let through");
    const conn = { ended: 0 };
    features.followSession(facts.session, req, () => conn.ended++);
    return conn;
  };

  /** Ory's answer to `path` passing through the proxy, seen by the observer. */
  const oryAnswers = (path: string, token: string, res: ObservedResponse) =>
    features.observeOry(request(`/.ory${path}`, token), path)?.(res);

  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 0));
  };
  return { active, asked, features, openStream, oryAnswers, settle };
}

const setCookie = (value: string) =>
  new Headers([["set-cookie", value], ["location", `${PUBLISH}/`]]);

Deno.test("session features: a logout Ory carried out closes that session's connections at once", async () => {
  const { active, features, openStream, oryAnswers } = await setup();
  active.add("alice").add("bob");
  const alice = await openStream("alice");
  const bob = await openStream("bob");
  // Kratos clears the cookie when it logged the session out.
  oryAnswers("/self-service/logout", "alice", {
    status: 303,
    headers: setCookie("ory_kratos_session=; Path=/; Max-Age=0; HttpOnly"),
  });
  assertEquals([alice.ended, bob.ended], [1, 0], "synchronously, before the answer goes out");
  features.close();
});

Deno.test("session features: a logout Ory refused, or a changed session, only asks Ory again", async () => {
  const { active, asked, features, openStream, oryAnswers, settle } = await setup();
  active.add("carol");
  const carol = await openStream("carol");
  asked.length = 0;
  // A wrong logout token: Kratos sends the browser to its error page, also with a 303, and
  // leaves the cookie alone.
  oryAnswers("/self-service/logout", "carol", { status: 303, headers: setCookie("csrf=x") });
  await settle();
  assertEquals(asked, ["/sessions/whoami carol"]);
  assertEquals(carol.ended, 0);
  // An AAL2 step-up re-sets the session cookie: the cache is purged, the session still valid.
  oryAnswers("/self-service/login", "carol", {
    status: 200,
    headers: setCookie("ory_kratos_session=carol; Path=/; Max-Age=86400"),
  });
  await settle();
  assertEquals(asked.length, 2);
  assertEquals(carol.ended, 0);
  // The same purge for a session Ory no longer knows ends it.
  active.delete("carol");
  oryAnswers("/self-service/login", "carol", {
    status: 200,
    headers: setCookie("ory_kratos_session=other; Path=/"),
  });
  await settle();
  assertEquals(carol.ended, 1);
  features.close();
});

Deno.test("session features: a `*` purge (API logout) re-checks every followed session", async () => {
  const { active, features, openStream, oryAnswers, settle } = await setup();
  active.add("dave").add("erin");
  const dave = await openStream("dave");
  const erin = await openStream("erin");
  active.delete("erin"); // the API logout's token was erin's
  oryAnswers("/self-service/logout/api", "", { status: 204, headers: new Headers() });
  await settle();
  assertEquals([dave.ended, erin.ended], [0, 1]);
  features.close();
});

Deno.test("session features: an answer followed after its session was purged is checked at once", async () => {
  const { active, asked, features, oryAnswers, settle } = await setup();
  active.add("frank");
  // The gate lets the WebSocket handshake through...
  const req = new Request(`${PUBLISH}/ws`, { headers: { cookie: "ory_kratos_session=frank" } });
  const facts: GateFacts = {};
  await features.gate(req, new Headers(), new URL(req.url), undefined, facts);
  // ...the user logs out while the application accepts it...
  active.delete("frank");
  oryAnswers("/self-service/logout", "frank", {
    status: 303,
    headers: setCookie("ory_kratos_session=; Max-Age=0"),
  });
  // ...and only then is the tunnel followed: Ory is asked at once, not at the next re-check.
  asked.length = 0;
  let ended = 0;
  features.followSession(facts.session!, req, () => ended++);
  await settle();
  assertEquals(asked, ["/sessions/whoami frank"]);
  assertEquals(ended, 1);
  features.close();
});
