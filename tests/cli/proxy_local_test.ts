/**
 * `orygate proxy local`: HTTPS with a generated local CA. A client that trusts only that CA
 * completes a request; Chromium with an NSS database the CLI installed the CA into loads the
 * page without a certificate error; `--no-https` serves plain http.
 */
import { startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";
import { launchBrowser } from "../e2e/_journey.ts";
import { CERTUTIL, requireTool } from "../../scripts/_required_tools.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("proxy local: HTTPS trusted through the generated CA", opts, async (t) => {
  const home = await Deno.makeTempDir();
  const ory = startFakeOry();
  const app = startTestApp();
  const env = { HOME: home, XDG_CONFIG_HOME: `${home}/.config` };
  // Install only into the NSS database under this temporary HOME, never the machine's store.
  await Deno.mkdir(`${home}/.pki/nssdb`, { recursive: true });
  const proxy = await startCli(
    ["proxy", "local", app.origin, "--sdk-url", ory.origin, "--no-open", "--trust-stores", "nss"],
    { env },
  );
  const base = `https://localhost:${proxy.port}`;
  try {
    const ca = await Deno.readTextFile(`${home}/.config/orygate/ca.pem`);
    await t.step("the CA key is private", async () => {
      assertEquals((await Deno.stat(`${home}/.config/orygate/ca-key.pem`)).mode! & 0o777, 0o600);
    });
    await t.step("a client trusting only the CA gets through, with Secure cookies", async () => {
      const client = Deno.createHttpClient({ caCerts: [ca] });
      const res = await fetch(`${base}/.ory/self-service/login/browser`, {
        client,
        redirect: "manual",
      });
      await res.body?.cancel();
      assertEquals(res.headers.get("location"), `${base}/.ory/ui/login?flow=abc`);
      assertEquals(
        res.headers.getSetCookie()[0],
        "csrf_token_x=c1; Path=/; HttpOnly; SameSite=None; Secure",
      );
      const echo = await (await fetch(`${base}/echo`, { client })).json();
      assertEquals(echo.headers["x-forwarded-proto"], "https");
      const jwks = await (await fetch(`${base}/.ory/jwks.json`, { client })).json();
      assert(jwks.keys.length === 1);
      client.close();
    });
    await t.step("a client that does not trust the CA is refused", async () => {
      const err = await fetch(`${base}/echo`).then(() => undefined, (e) => e);
      assert(err instanceof TypeError, "expected a TLS failure");
    });
    await t.step("the CA was installed into the NSS database and the banner says so", async () => {
      await requireTool(CERTUTIL);
      const out = await new Deno.Command("certutil", {
        args: ["-L", "-d", `sql:${home}/.pki/nssdb`],
      }).output();
      assertMatch(new TextDecoder().decode(out.stdout), /orygate/i);
      assertMatch(proxy.output(), /nss/i);
    });
    await t.step(
      "Chromium using that NSS database loads the page with no certificate error",
      async () => {
        const browser = await launchBrowser({ env: { HOME: home } });
        try {
          const page = await browser.newPage();
          const res = await page.goto(`${base}/hello`);
          assertEquals(res?.status(), 200);
          assertMatch(await page.content(), /"path":"\/hello"/);
        } finally {
          await browser.close();
        }
      },
    );
  } finally {
    await proxy.stop();
    await app.close();
    await ory.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("proxy local --no-https serves plain http", opts, async () => {
  const home = await Deno.makeTempDir();
  const app = startTestApp();
  const proxy = await startCli([
    "proxy",
    "local",
    app.origin,
    "--sdk-url",
    "http://127.0.0.1:1",
    "--no-https",
    "--no-open",
  ], {
    env: { HOME: home, XDG_CONFIG_HOME: `${home}/.config` },
  });
  try {
    const body = await (await fetch(`http://localhost:${proxy.port}/echo`)).json();
    assertEquals(body.headers["x-forwarded-proto"], "http");
    assertMatch(proxy.output(), new RegExp(`http://localhost:${proxy.port}`));
  } finally {
    await proxy.stop();
    await app.close();
    await Deno.remove(home, { recursive: true });
  }
});
