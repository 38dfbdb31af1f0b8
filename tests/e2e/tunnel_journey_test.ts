/**
 * The journey through `orygate tunnel` against a real Ory Kratos, with Chromium: the example
 * app runs on its own origin and calls Ory through the tunnel URL (no /.ory prefix, no JWT);
 * register → signed in → log out → signed out → log in.
 */
import { createApp } from "../../examples/app/app.ts";
import { createWhoamiVerifier } from "../../examples/app/session.ts";
import { freePort, startCli } from "../_support/cli.ts";
import { assertEquals } from "../_support/assert.ts";
import { check, launchBrowser, screenshots, startKratos } from "./_journey.ts";

Deno.test({
  name: "e2e: tunnel journey with Kratos and Chromium",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const appPort = freePort();
    const tunnelPort = freePort();
    const appUrl = `http://localhost:${appPort}`;
    const tunnelUrl = `http://localhost:${tunnelPort}`;
    // Users return to the app, which also renders the UI; Kratos keeps its own base URL.
    const kratos = await startKratos({ publishUrl: appUrl, uiUrl: appUrl, baseUrl: "kratos" });
    const app = Deno.serve(
      { hostname: "127.0.0.1", port: appPort, onListen() {} },
      createApp({ oryUrl: tunnelUrl, verify: createWhoamiVerifier(tunnelUrl) }),
    );
    const tunnel = await startCli(["tunnel", appUrl, tunnelUrl, "--sdk-url", kratos.publicUrl], {
      port: tunnelPort,
    });
    const browser = await launchBrowser();
    const shot = await screenshots("tunnel");
    const email = `tunnel-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = `Pw-${crypto.randomUUID()}`;
    try {
      check(
        tunnel.output().includes(`export ORY_SDK_URL=${tunnelUrl}`),
        "banner shows ORY_SDK_URL",
      );
      const page = await browser.newPage();
      await t.step("register through the tunnel and come back signed in", async () => {
        await page.goto(`${appUrl}/registration`);
        await page.waitForURL(/\/registration\?flow=/);
        const action = await page.locator("form").first().getAttribute("action");
        check(
          action?.startsWith(`${tunnelUrl}/self-service/registration?flow=`),
          `form posts to the tunnel: ${action}`,
        );
        await page.getByTestId("input-traits.email").fill(email);
        await page.getByTestId("input-password").fill(password);
        await shot(page, "registration-filled");
        await page.getByTestId("submit-password").click();
        await page.waitForURL(`${appUrl}/`);
        await shot(page, "home-signed-in");
        assertEquals(await page.getByTestId("home-email").textContent(), email);
      });
      await t.step("log out through the tunnel", async () => {
        await page.goto(`${appUrl}/logout`);
        await page.waitForURL(`${appUrl}/`);
        await shot(page, "home-after-logout");
        check(await page.getByTestId("signed-out").isVisible(), "signed out");
      });
      await t.step("log in again", async () => {
        await page.goto(`${appUrl}/login`);
        await page.waitForURL(/\/login\?flow=/);
        await page.getByTestId("input-identifier").fill(email);
        await page.getByTestId("input-password").fill(password);
        await page.getByTestId("submit-password").click();
        await page.waitForURL(`${appUrl}/`);
        await shot(page, "home-after-login");
        assertEquals(await page.getByTestId("home-email").textContent(), email);
      });
    } catch (error) {
      console.error(
        `--- orygate ---\n${tunnel.output()}\n--- kratos ---\n${await kratos.readLog()}`,
      );
      throw error;
    } finally {
      await browser.close();
      await tunnel.stop();
      await app.shutdown();
      await kratos.stop();
    }
  },
});
