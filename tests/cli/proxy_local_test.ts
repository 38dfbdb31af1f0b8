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

Deno.test(
  "proxy local --dont-install-cert: the CA in use, how to trust it, plain http redirected",
  opts,
  async (t) => {
    const home = await Deno.makeTempDir();
    const app = startTestApp();
    const env = { HOME: home, XDG_CONFIG_HOME: `${home}/.config` };
    const args = [
      "proxy",
      "local",
      app.origin,
      "--sdk-url",
      "http://127.0.0.1:1",
      "--no-open",
      "--protect-path-prefix",
      "/members",
    ];
    const proxy = await startCli([...args, "--dont-install-cert"], { env });
    const caFile = `${home}/.config/orygate/ca.pem`;
    try {
      const output = proxy.output();
      await t.step("the banner names the CA file and its fingerprint", async () => {
        assertMatch(output, new RegExp(`\n  local CA: +${caFile}\n`));
        const fingerprint = await new Deno.Command("openssl", {
          args: ["x509", "-in", caFile, "-noout", "-fingerprint", "-sha256"],
        }).output();
        const expected = new TextDecoder().decode(fingerprint.stdout).trim().split("=")[1];
        assertMatch(output, new RegExp(`\n  CA fingerprint: +SHA-256 ${expected}\n`));
      });
      await t.step("it says the CA was not installed and how to trust it by hand", async () => {
        const has = (text: string) => assertEquals(output.includes(text), true, text);
        has(`not added to any trust store (--dont-install-cert): ${caFile}\n`);
        has(
          `certutil -d sql:${home}/.pki/nssdb -A -t C,, -n 'orygate local development CA' -i ${caFile}\n`,
        );
        assertMatch(output, /\n {4}sudo (cp .* && sudo \S+|trust anchor --store .*)\n/);
        const nss = await Deno.stat(`${home}/.pki`).then(() => true, () => false);
        assertEquals(nss, false, "nothing was installed or created for NSS");
      });
      await t.step("plain http to the https port is redirected to https", async () => {
        const res = await fetch(`http://localhost:${proxy.port}/members?x=1`, {
          redirect: "manual",
        });
        assertEquals(res.status, 307);
        assertEquals(res.headers.get("location"), `https://localhost:${proxy.port}/members?x=1`);
        assertEquals(
          await res.text(),
          `This port speaks HTTPS: use https://localhost:${proxy.port}/members?x=1\n`,
        );
        assertMatch(
          output,
          new RegExp(`plain http: +http://localhost:${proxy.port} is redirected`),
        );
      });
      await t.step("HTTPS keeps working and the app sees the client's address", async () => {
        const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caFile)] });
        const echo = await (await fetch(`https://localhost:${proxy.port}/echo`, { client })).json();
        assertEquals(echo.headers["x-forwarded-proto"], "https");
        assertMatch(echo.headers["x-forwarded-for"], /^(127\.0\.0\.1|::1)$/);
        client.close();
      });
      await t.step("a denial before a large upload reaches the client over HTTPS", async () => {
        // The client sends its whole body before it reads; the server answers 401 early and
        // lingers, half-closed, which the relay must pass on instead of resetting.
        const tcp = await Deno.connect({ hostname: "127.0.0.1", port: proxy.port });
        const conn = await Deno.startTls(tcp, {
          hostname: "localhost",
          caCerts: [await Deno.readTextFile(caFile)],
        });
        const size = 32 * 1024 * 1024;
        await conn.write(new TextEncoder().encode(
          `POST /members/upload HTTP/1.1\r\nHost: localhost:${proxy.port}\r\n` +
            `Accept: application/json\r\nContent-Length: ${size}\r\n\r\n`,
        ));
        const chunk = new Uint8Array(256 * 1024);
        for (let sent = 0; sent < size; sent += chunk.length) await conn.write(chunk);
        const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
        assertMatch(answer, /^HTTP\/1\.1 401 /);
      });
    } finally {
      await proxy.stop();
    }
    await t.step("a second start loads the same CA and says so again", async () => {
      const again = await startCli([...args, "--dont-install-cert"], { env });
      try {
        assertEquals(/Created a local certificate authority/.test(again.output()), false);
        assertMatch(again.output(), new RegExp(`\n  local CA: +${caFile}\n`));
      } finally {
        await again.stop();
      }
    });
    await app.close();
    await Deno.remove(home, { recursive: true });
  },
);

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
