/** `orygate tunnel` through the real CLI against the Ory stand-in and a test app. */
import { startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

Deno.test("tunnel: Ory at the root of the tunnel URL", {
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const ory = startFakeOry();
  const app = startTestApp();
  const appUrl = "http://localhost:3999";
  const tunnel = await startCli(["tunnel", appUrl, "--sdk-url", ory.origin]);
  const base = tunnel.url;
  try {
    await t.step("the banner says how to point an SDK at the tunnel", () => {
      assertMatch(tunnel.output(), new RegExp(`export ORY_SDK_URL=${base}`));
    });
    await t.step("every path goes to Ory with no prefix and the tunnel URL as base", async () => {
      const body = await (await fetch(`${base}/self-service/x?y=1`)).json();
      assertEquals(body.path, "/self-service/x");
      assertEquals(body.headers["ory-base-url-rewrite"], base);
      assertEquals(body.headers["ory-no-custom-domain-redirect"], "true");
    });
    await t.step("credentials go to Ory untouched and no JWT is made", async () => {
      const body = await (await fetch(`${base}/echo`, {
        headers: {
          authorization: "Bearer session-token",
          "x-session-token": "t",
          cookie: "ory_kratos_session=s",
        },
      })).json();
      assertEquals(body.headers.authorization, "Bearer session-token");
      assertEquals(body.headers["x-session-token"], "t");
      assertEquals(body.headers.cookie, "ory_kratos_session=s");
      assertEquals(ory.whoamiCalls, 0);
      const jwks = await fetch(`${base}/.ory/jwks.json`);
      assertEquals((await jwks.json()).path, "/.ory/jwks.json"); // Ory's, not orygate's
    });
    await t.step("Location, cookies and bodies move onto the tunnel URL", async () => {
      const res = await fetch(`${base}/self-service/login/browser`, { redirect: "manual" });
      await res.body?.cancel();
      assertEquals(res.headers.get("location"), `${base}/ui/login?flow=abc`);
      assertEquals(
        res.headers.getSetCookie()[0],
        "csrf_token_x=c1; Path=/; HttpOnly; SameSite=Lax",
      );
      const flow = await (await fetch(`${base}/self-service/login/flows?id=abc`)).json();
      assertEquals(flow.ui.action, `${base}/self-service/login?flow=abc`);
    });
    await t.step("Ory's welcome page sends users back to the application", async () => {
      const res = await fetch(`${base}/welcome`, { redirect: "manual" });
      await res.body?.cancel();
      assertEquals(res.headers.get("location"), `${appUrl}/`);
    });
    await t.step("the application's origin may call the tunnel with credentials", async () => {
      const pre = await fetch(`${base}/sessions/whoami`, {
        method: "OPTIONS",
        headers: {
          origin: appUrl,
          "access-control-request-method": "GET",
          "access-control-request-headers": "x-session-token",
        },
      });
      await pre.body?.cancel();
      assertEquals(pre.status, 204);
      assertEquals(pre.headers.get("access-control-allow-origin"), appUrl);
      assertEquals(pre.headers.get("access-control-allow-credentials"), "true");
      const res = await fetch(`${base}/cors`, { headers: { origin: appUrl } });
      await res.body?.cancel();
      assertEquals(res.headers.get("access-control-allow-origin"), appUrl);
      const other = await fetch(`${base}/cors`, {
        headers: { origin: "https://elsewhere.example" },
      });
      await other.body?.cancel();
      assertEquals(other.headers.get("access-control-allow-origin"), null);
    });
  } finally {
    await tunnel.stop();
    await app.close();
    await ory.close();
  }
});
