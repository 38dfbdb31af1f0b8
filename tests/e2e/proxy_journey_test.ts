/**
 * The whole login journey through `orygate proxy` against a real Ory Kratos, with Chromium:
 * /members → login with return_to → its "Sign up" link → register → back on /members showing the email from the
 * verified JWT → log out → /members sends you to login again. Plus the API way: a session
 * token from the API flows becomes a JWT for the same identity.
 *
 * Kratos runs with its own base URL (like Ory Network), so every URL the browser sees went
 * through orygate's body, Location and cookie rewriting.
 */
import { assertEquals } from "../_support/assert.ts";
import { check, cookieHeader, launchBrowser, screenshots, startProxyStack } from "./_journey.ts";

Deno.test({
  name: "e2e: proxy journey with Kratos and Chromium",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { publish, oryUrl, ...stack } = await startProxyStack({ kratos: { baseUrl: "kratos" } });
    const browser = await launchBrowser();
    const shot = await screenshots("proxy");
    const email = `e2e-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = `Pw-${crypto.randomUUID()}`;
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      await t.step("/members sends an anonymous browser to login with return_to", async () => {
        await page.goto(`${publish}/members`);
        await page.waitForURL(/\/login\?flow=/);
        await shot(page, "login-from-members");
        const flowId = new URL(page.url()).searchParams.get("flow")!;
        const flow = await (await fetch(`${oryUrl}/self-service/login/flows?id=${flowId}`, {
          headers: { cookie: await cookieHeader(page, publish) },
        })).json();
        check(flow.return_to === `${publish}/members`, `return_to is ${flow.return_to}`);
      });
      await t.step(
        "register, and land back on /members with the email from the verified JWT",
        async () => {
          // As a person would: the login page's "Sign up" link, which carries return_to.
          await page.getByTestId("link-registration").click();
          await page.waitForURL(/\/registration\?flow=/);
          await page.getByTestId("input-traits.email").fill(email);
          await page.getByTestId("input-password").fill(password);
          await shot(page, "registration-filled");
          await page.getByTestId("submit-password").click();
          await page.waitForURL(`${publish}/members`);
          await shot(page, "members-after-registration");
          assertEquals(await page.getByTestId("member-email").textContent(), email);
          assertEquals(await page.title(), "Members · orygate example");
          // The claims block wraps inside a 1000 px window instead of widening the page.
          const overflow: number = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth",
          );
          check(overflow <= 0, `the page is ${overflow}px wider than the window`);
          const cookies = await page.context().cookies(publish);
          const session = cookies.find((c) => c.name === "ory_kratos_session");
          check(
            session?.domain === "localhost" && !session.secure,
            "session cookie on the publish host",
          );
        },
      );
      await t.step("log out; /members sends the browser to login again", async () => {
        await page.goto(`${publish}/logout`);
        await page.waitForURL(`${publish}/`);
        await shot(page, "home-after-logout");
        check(await page.getByTestId("signed-out").isVisible(), "signed out after logout");
        assertEquals(await page.title(), "orygate example");
        await page.goto(`${publish}/members`);
        await page.waitForURL(/\/login\?flow=/);
        await shot(page, "login-after-logout");
      });
      await t.step("log in again with the password and return to /members", async () => {
        await page.getByTestId("input-identifier").fill(email);
        await page.getByTestId("input-password").fill(password);
        await page.getByTestId("submit-password").click();
        await page.waitForURL(`${publish}/members`);
        await shot(page, "members-after-login");
        assertEquals(await page.getByTestId("member-email").textContent(), email);
      });
      await t.step(
        "API: a session token from the API flows becomes a JWT for the same identity",
        async () => {
          const apiEmail = `api-${crypto.randomUUID().slice(0, 8)}@example.com`;
          const flow = await (await fetch(`${oryUrl}/self-service/registration/api`)).json();
          check(
            String(flow.ui.action).startsWith(`${oryUrl}/`),
            `action rewritten: ${flow.ui.action}`,
          );
          const res = await fetch(flow.ui.action, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json" },
            body: JSON.stringify({ method: "password", traits: { email: apiEmail }, password }),
          });
          const registered = await res.json();
          check(
            res.status === 200 && registered.session_token,
            `registration: ${JSON.stringify(registered)}`,
          );
          const me = await fetch(`${publish}/api/me`, {
            headers: { authorization: `Bearer ${registered.session_token}` },
          });
          const claims = await me.json();
          assertEquals(me.status, 200);
          assertEquals(claims.sub, registered.identity.id);
          assertEquals(claims.session.identity.traits.email, apiEmail);
          const forged = await fetch(`${publish}/api/me`, {
            headers: { authorization: "Bearer not-a-session" },
          });
          assertEquals(forged.status, 401);
          await forged.body?.cancel();
        },
      );
    } catch (error) {
      console.error(await stack.logs());
      throw error;
    } finally {
      await browser.close();
      await stack.stop();
    }
  },
});
