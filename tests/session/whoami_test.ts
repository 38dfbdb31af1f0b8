import { createWhoami } from "../../src/session/whoami.ts";
import { assertEquals } from "../_support/assert.ts";
import { aal2RequiredBody } from "../_support/kratos_errors.ts";

const cred = { key: "k", cookie: "ory_kratos_session=abc" };
const active = { id: "s", active: true, expires_at: "2030-01-01T00:00:00Z", identity: { id: "i" } };

function fakeFetch(answers: (() => Response)[], seen: Request[] = []): typeof fetch {
  return (input, init) => {
    seen.push(new Request(input, init));
    const next = answers.shift();
    return next ? Promise.resolve(next()) : Promise.reject(new TypeError("connection refused"));
  };
}

Deno.test("createWhoami() names why Ory could not be reached", async () => {
  const refused = new TypeError("fetch failed", {
    cause: new Error(
      "error sending request for url (https://x/sessions/whoami): client error (Connect): tcp connect error: Connection refused (os error 111)",
    ),
  });
  const whoami = createWhoami({
    oryBase: "https://x.projects.oryapis.com",
    fetch: () => Promise.reject(refused),
  });
  assertEquals(await whoami(cred), {
    kind: "error",
    reason: "Ory could not be reached: connection refused",
  });
});

Deno.test("createWhoami()", async (t) => {
  const oryBase = "https://x.projects.oryapis.com";
  const sleeps: number[] = [];
  const sleep = (ms: number) => (sleeps.push(ms), Promise.resolve());
  await t.step("an active session, asked with only the credential", async () => {
    const seen: Request[] = [];
    const whoami = createWhoami({
      oryBase,
      fetch: fakeFetch([() => Response.json(active)], seen),
      sleep,
    });
    const r = await whoami(cred);
    assertEquals(r.kind, "active");
    assertEquals(r.kind === "active" && r.expiresAt, Date.parse(active.expires_at));
    assertEquals(seen[0].url, "https://x.projects.oryapis.com/sessions/whoami");
    assertEquals(seen[0].headers.get("cookie"), "ory_kratos_session=abc");
  });
  await t.step("401 and inactive sessions are 'none'", async () => {
    const whoami = createWhoami({
      oryBase,
      fetch: fakeFetch([
        () => new Response("", { status: 401 }),
        () => Response.json({ ...active, active: false }),
      ]),
      sleep,
    });
    assertEquals((await whoami(cred)).kind, "none");
    assertEquals((await whoami(cred)).kind, "none");
  });
  await t.step("429 is retried with backoff and then succeeds", async () => {
    sleeps.length = 0;
    const r429 = () => new Response("", { status: 429 });
    const whoami = createWhoami({
      oryBase,
      fetch: fakeFetch([r429, r429, () => Response.json(active)]),
      sleep,
    });
    assertEquals((await whoami(cred)).kind, "active");
    assertEquals(sleeps, [100, 200]);
  });
  await t.step("429 past the budget is an error with Retry-After, never 'none'", async () => {
    const r429 = () => new Response("", { status: 429, headers: { "retry-after": "9" } });
    const whoami = createWhoami({
      oryBase,
      fetch: fakeFetch(Array(20).fill(r429)),
      sleep,
      retryBudgetMs: 500,
    });
    const r = await whoami(cred);
    assertEquals(r.kind, "error");
    assertEquals(r.kind === "error" && r.retryAfter, 9);
  });
  await t.step("network failures, 5xx and bad JSON are errors", async () => {
    const whoami = createWhoami({
      oryBase,
      fetch: fakeFetch([
        () => new Response("", { status: 502 }),
        () => new Response("{not json", { status: 200 }),
      ]),
      sleep,
    });
    assertEquals((await whoami(cred)).kind, "error");
    assertEquals((await whoami(cred)).kind, "error");
    assertEquals((await whoami(cred)).kind, "error");
  });
});

Deno.test("createWhoami(): an active session without an identity id is an error", async () => {
  // Also ids a log line or a `sub` cannot carry as they are (a review forged an access line
  // with one).
  for (
    const identity of [
      { id: "" },
      {},
      undefined,
      { id: 42 },
      { id: "i31\r\nX-Ory-Aal: aal2" },
      { id: " i1" },
      { id: "ï1" },
    ]
  ) {
    const whoami = createWhoami({
      oryBase: "https://x.projects.oryapis.com",
      fetch: fakeFetch([() => Response.json({ ...active, identity })]),
    });
    const result = await whoami(cred);
    assertEquals(result.kind, "error", JSON.stringify(identity));
  }
});

Deno.test("createWhoami(): an unreadable expires_at is an error, an absent one no expiry", async () => {
  for (const expires_at of ["garbage", 1_900_000_000, true, {}]) {
    const whoami = createWhoami({
      oryBase: "https://x.projects.oryapis.com",
      fetch: fakeFetch([() => Response.json({ ...active, expires_at })]),
    });
    assertEquals((await whoami(cred)).kind, "error", JSON.stringify(expires_at));
  }
  for (const expires_at of [undefined, null]) {
    const whoami = createWhoami({
      oryBase: "https://x.projects.oryapis.com",
      fetch: fakeFetch([() => Response.json({ ...active, expires_at })]),
    });
    const result = await whoami(cred);
    assertEquals(result.kind === "active" ? result.expiresAt : "not active", undefined);
  }
});

Deno.test("createWhoami(): Kratos's 403 session_aal2_required means 'needs AAL2'", async () => {
  const aal2 = aal2RequiredBody("http://127.0.0.1:4433/self-service/login/browser?aal=aal2");
  const whoami = createWhoami({
    oryBase: "https://x.projects.oryapis.com",
    fetch: fakeFetch([
      () => Response.json(aal2, { status: 403 }),
      () => Response.json({ error: { id: "security_csrf_violation", code: 403 } }, { status: 403 }),
      () => new Response("<html>forbidden</html>", { status: 403 }),
    ]),
  });
  assertEquals(await whoami(cred), { kind: "aal2_required" });
  assertEquals(await whoami(cred), { kind: "none" });
  assertEquals(await whoami(cred), { kind: "none" });
});
