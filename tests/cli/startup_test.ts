/**
 * What the real CLI says at start about Ory: a warning naming why Ory does not answer (not a
 * failure: the proxy serves anyway), session-check errors that name the cause instead of
 * "fetch failed", and the signing key of a run without --jwks.
 */
import { freePort, startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function waitForOutput(proxy: { output(): string }, re: RegExp, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!re.test(proxy.output()) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assertMatch(proxy.output(), re);
}

Deno.test("start: Ory refusing connections is a warning with the cause", opts, async (t) => {
  const app = startTestApp();
  const dead = `http://127.0.0.1:${freePort()}`;
  const proxy = await startCli([
    "proxy",
    app.origin,
    "--sdk-url",
    dead,
    "--protect-path-prefix",
    "/members",
  ]);
  try {
    await t.step("the warning names the cause and the proxy keeps serving", async () => {
      await waitForOutput(
        proxy,
        new RegExp(`warning: Ory at ${dead} does not answer: connection refused\\. `),
      );
      const res = await fetch(`${proxy.url}/echo`);
      assertEquals(res.status, 200);
      await res.body?.cancel();
    });
    await t.step("a session check names the cause too", async () => {
      const res = await fetch(`${proxy.url}/members`, {
        headers: { cookie: "ory_kratos_session=abc" },
      });
      assertEquals(res.status, 503);
      await res.body?.cancel();
      await waitForOutput(
        proxy,
        /session check failed: Ory could not be reached: connection refused/,
      );
      assertEquals(/fetch failed/.test(proxy.output()), false, proxy.output());
    });
    await t.step("without --jwks the key is new for this run", () => {
      assertMatch(proxy.output(), /JWT signing key: {2}kid \S+, new for this run \(--jwks <file>/);
    });
  } finally {
    await proxy.stop();
    await app.close();
  }
});

Deno.test("start: an Ory that answers, with any status, gets no warning", opts, async () => {
  const app = startTestApp();
  const ory = startFakeOry();
  const proxy = await startCli(["proxy", app.origin, "--sdk-url", ory.origin]);
  try {
    // The check has answered once a request through the proxy to Ory has.
    const res = await fetch(`${proxy.url}/.ory/health/alive`);
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(/warning/.test(proxy.output()), false, proxy.output());
  } finally {
    await proxy.stop();
    await app.close();
    await ory.close();
  }
});

Deno.test("start: an Ory that accepts but never answers is named a timeout", opts, async () => {
  const app = startTestApp();
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  const proxy = await startCli([
    "proxy",
    app.origin,
    "--sdk-url",
    `http://127.0.0.1:${silent.addr.port}`,
    "--no-jwt",
  ]);
  try {
    await waitForOutput(proxy, /does not answer: timeout: no answer within 5s\./, 15_000);
  } finally {
    await proxy.stop();
    await app.close();
    silent.close();
    for (const conn of held) conn.close();
  }
});
