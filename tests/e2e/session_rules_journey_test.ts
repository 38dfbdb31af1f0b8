/**
 * Issue 19's journey through `orygate proxy` against a real Ory Kratos, a local SMTP sink and
 * Chromium: rules that ask more of a session than that it exists, and long-lived connections
 * that end with their session.
 *
 * register → enrol TOTP on the settings page (the code computed here from the secret in the
 * flow's UI nodes) → log out → log in with the password only (AAL1) →
 * - `--require-aal2 /members/mfa`: step-up login with a fresh TOTP code, back on the page at aal2;
 * - `--require-verified-email /members/verified`: the verification flow, the code read from the
 *   mail Kratos's courier sent to the sink, back on the page, verified;
 * - `--require-identity "/members/admin metadata_public.role=admin"`: 403, then granted once the
 *   admin API has set the role;
 * - `--identity-headers`: the values reach the app, forged copies do not;
 * - an open WebSocket and event stream close on logout through the proxy, and after a revocation
 *   through Kratos's admin API within the re-check bound; anonymous ones stay open.
 *
 * Kratos runs with the quick start's base URL (`<publish>/.ory/`), the other journeys with its
 * own, so both ways of mounting Ory are covered.
 */
import { Secret, TOTP } from "otpauth";
import type { Page } from "playwright-core";
import { type SmtpSink, startSmtpSink } from "../../scripts/kratos/smtp_sink.ts";
import { assertEquals } from "../_support/assert.ts";
import { check, cookieHeader, launchBrowser, screenshots, startProxyStack } from "./_journey.ts";

/** `--session-recheck-interval`: short, so the revocation step is quick. */
const RECHECK_MS = 2_000;
/**
 * How soon after a revocation the connections must have closed: one re-check interval, plus
 * whoami answering on a loaded two-core machine and the close reaching the browser.
 */
const REVOCATION_BOUND_MS = RECHECK_MS + 5_000;
/** Generous waits: the suite shares two cores with other work. */
const WAIT_MS = 45_000;

Deno.test({
  name: "e2e: step-up, verification, identity rules and live connections with Kratos",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sink = await startSmtpSink();
    const { publish, oryUrl, kratos, ...stack } = await startProxyStack({
      kratos: { smtpUrl: sink.url },
      flags: [
        "--require-aal2",
        "/members/mfa",
        "--require-verified-email",
        "/members/verified",
        "--require-identity",
        "/members/admin metadata_public.role=admin",
        "--identity-headers",
        "--session-recheck-interval",
        `${RECHECK_MS / 1000}s`,
      ],
    }).catch(async (error) => {
      await sink.close();
      throw error;
    });
    const browser = await launchBrowser();
    const shot = await screenshots("session-rules");
    const email = `rules-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = `Pw-${crypto.randomUUID()}`;
    let totp: TOTP | undefined;
    let identityId = "";
    try {
      const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
      context.setDefaultTimeout(WAIT_MS);
      const page = await context.newPage();
      const signIn = async () => {
        await page.goto(`${publish}/members`);
        await page.waitForURL(/\/login\?flow=/);
        await page.getByTestId("input-identifier").fill(email);
        await page.getByTestId("input-password").fill(password);
        await page.getByTestId("submit-password").click();
        await page.waitForURL(`${publish}/members`);
      };

      await t.step("register; the identity headers reach the app, forged ones do not", async () => {
        await page.goto(`${publish}/members`);
        await page.waitForURL(/\/login\?flow=/);
        await page.getByTestId("link-registration").click();
        await page.waitForURL(/\/registration\?flow=/);
        await page.getByTestId("input-traits.email").fill(email);
        await page.getByTestId("input-password").fill(password);
        await page.getByTestId("submit-password").click();
        await page.waitForURL(`${publish}/members`);
        await shot(page, "members-after-registration");
        assertEquals(await text(page, "member-aal"), "aal1");
        assertEquals(await text(page, "member-email-verified"), "not verified");
        identityId = await text(page, "member-identity-id");
        const claims = JSON.parse(await text(page, "member-claims"));
        const expected = {
          "x-ory-identity-id": identityId,
          "x-ory-session-id": claims.session.id,
          "x-ory-identity-email": email,
          "x-ory-aal": "aal1",
        };
        assertEquals(await identityHeaders(page), expected);
        // A client's own copies never reach the app.
        await page.setExtraHTTPHeaders({
          "X-Ory-Identity-Id": "forged-id",
          "X-Ory-Session-Id": "forged-session",
          "X-Ory-Identity-Email": "forged@example.com",
          "X-Ory-Aal": "aal2",
        });
        await page.reload();
        assertEquals(await identityHeaders(page), expected);
        await page.setExtraHTTPHeaders({});
      });

      await t.step("enrol TOTP through the settings flow", async () => {
        await page.goto(`${publish}/settings`);
        await page.waitForURL(/\/settings\?flow=/);
        const flowId = new URL(page.url()).searchParams.get("flow")!;
        const flow = await getFlow(page, oryUrl, "settings", flowId);
        const secretNode = flow.ui.nodes.find((n: UiNode) => n.attributes.id === "totp_secret_key");
        const secret = secretNode?.attributes.text?.text;
        check(typeof secret === "string" && secret.length >= 16, "the flow offers a TOTP secret");
        assertEquals(await text(page, "text-totp_secret_key"), secret);
        totp = new TOTP({ secret: Secret.fromBase32(secret) });
        const form = page.getByTestId("flow-form-totp");
        await form.getByTestId("input-totp_code").fill(totp.generate());
        await shot(page, "settings-totp-filled");
        await form.getByTestId("submit-totp").click();
        // Kratos's "Your changes have been saved!" (1050001) on the same settings flow.
        await page.locator('[data-testid="flow-message"][data-message-id="1050001"]').waitFor();
        await shot(page, "settings-totp-saved");
        const after = await getFlow(page, oryUrl, "settings", flowId);
        check(
          after.ui.nodes.some((n: UiNode) => n.attributes.name === "totp_unlink"),
          "TOTP is enrolled (the settings flow now offers to unlink it)",
        );
      });

      await t.step("log out, and log in again with the password only (AAL1)", async () => {
        await page.goto(`${publish}/logout`);
        await page.waitForURL(`${publish}/`);
        await signIn();
        await shot(page, "members-aal1");
        assertEquals(await text(page, "member-aal"), "aal1");
        assertEquals((await identityHeaders(page))["x-ory-aal"], "aal1");
      });

      await t.step(
        "API: this AAL1, unverified session gets Ory's 403s saying where to go",
        async () => {
          const cookie = await cookieHeader(page, publish);
          const cases = [
            ["/members/mfa", "session_aal2_required", "/self-service/login/browser", "aal2"],
            [
              "/members/verified",
              "session_verified_address_required",
              "/self-service/verification/browser",
              null,
            ],
          ] as const;
          for (const [path, id, flowPath, aal] of cases) {
            const res = await fetch(`${publish}${path}`, {
              headers: { cookie, accept: "application/json" },
              redirect: "manual",
            });
            const body = await res.json();
            assertEquals(res.status, 403, `${path}: ${JSON.stringify(body)}`);
            assertEquals(body.error.id, id);
            const next = new URL(body.redirect_browser_to);
            assertEquals(next.origin + next.pathname, `${oryUrl}${flowPath}`);
            assertEquals(next.searchParams.get("aal"), aal);
            assertEquals(next.searchParams.get("return_to"), `${publish}${path}`);
          }
        },
      );

      await t.step("/members/mfa: step-up login with a TOTP code, back on the page", async () => {
        await page.goto(`${publish}/members/mfa`);
        await page.waitForURL(/\/login\?flow=/);
        const flowId = new URL(page.url()).searchParams.get("flow")!;
        const flow = await getFlow(page, oryUrl, "login", flowId);
        assertEquals(flow.requested_aal, "aal2");
        assertEquals(flow.return_to, `${publish}/members/mfa`);
        await shot(page, "login-aal2");
        await page.getByTestId("input-totp_code").fill(totp!.generate());
        await page.getByTestId("submit-totp").click();
        await page.waitForURL(`${publish}/members/mfa`);
        await shot(page, "members-mfa-aal2");
        assertEquals(await text(page, "member-path"), "/members/mfa");
        assertEquals(await text(page, "member-aal"), "aal2");
        assertEquals((await identityHeaders(page))["x-ory-aal"], "aal2");
      });

      await t.step(
        "/members/verified: verify the address by the mailed code, back on the page",
        async () => {
          const mailsBefore = sink.mails.length;
          await page.goto(`${publish}/members/verified`);
          await page.waitForURL(/\/verification\?flow=/);
          const flowId = new URL(page.url()).searchParams.get("flow")!;
          const flow = await getFlow(page, oryUrl, "verification", flowId);
          assertEquals(flow.return_to, `${publish}/members/verified`);
          await page.getByTestId("input-email").fill(email);
          await shot(page, "verification-email");
          await page.getByTestId("submit-code").click();
          await page.getByTestId("input-code").waitFor();
          const code = await mailedCode(sink, email, mailsBefore);
          await page.getByTestId("input-code").fill(code);
          await shot(page, "verification-code");
          await page.getByTestId("submit-code").click();
          // Kratos shows "successfully verified" with a link to the flow's return_to.
          await page.getByTestId("link-continue").click();
          await page.waitForURL(`${publish}/members/verified`);
          await shot(page, "members-verified");
          assertEquals(await text(page, "member-path"), "/members/verified");
          assertEquals(await text(page, "member-email-verified"), "verified");
        },
      );

      await t.step(
        "/members/admin: 403 without the role; granted once the admin sets it",
        async () => {
          const denied = await page.goto(`${publish}/members/admin`);
          assertEquals(denied?.status(), 403);
          assertEquals(page.url(), `${publish}/members/admin`);
          await shot(page, "members-admin-403");
          const patched = await fetch(`${kratos.adminUrl}/admin/identities/${identityId}`, {
            method: "PATCH",
            headers: { "content-type": "application/json" },
            body: JSON.stringify([
              { op: "add", path: "/metadata_public", value: { role: "admin" } },
            ]),
          });
          assertEquals(patched.status, 200, await patched.text());
          const setAt = Date.now();
          // The change did not go through the proxy: it shows once the cached whoami answer
          // (--session-cache-ttl, 10 s by default) is refreshed.
          const deadline = Date.now() + WAIT_MS;
          let status = 0;
          while (Date.now() < deadline) {
            status = (await page.goto(`${publish}/members/admin`))?.status() ?? 0;
            if (status === 200) break;
            await page.waitForTimeout(500);
          }
          assertEquals(status, 200);
          console.log(
            `metadata_public set → /members/admin granted after ${Date.now() - setAt} ms`,
          );
          await shot(page, "members-admin-granted");
          assertEquals(await text(page, "member-path"), "/members/admin");
        },
      );

      await t.step(
        "logout closes the session's WebSocket and event stream; anonymous ones stay",
        async () => {
          const live = await context.newPage();
          await openLive(live, publish);
          const anonymousContext = await browser.newContext();
          anonymousContext.setDefaultTimeout(WAIT_MS);
          const anonymous = await anonymousContext.newPage();
          await openLive(anonymous, publish);
          await shot(live, "live-open");

          const loggedOutAt = Date.now();
          await page.goto(`${publish}/logout`);
          await page.waitForURL(`${publish}/`);
          const ended = await waitEnded(live);
          await shot(live, "live-after-logout");
          console.log(
            `logout → WebSocket closed after ${
              ended.ws - loggedOutAt
            } ms, event stream ended after ${ended.events - loggedOutAt} ms`,
          );

          // The anonymous page's connections carry on: more echoes and events arrive.
          const counts = await liveCounts(anonymous);
          const count = (id: string) =>
            `Number(document.querySelector('[data-testid="${id}"]').dataset.count)`;
          await anonymous.waitForFunction(
            `${count("live-ws")} > ${counts.ws + 1} && ${count("live-events")} > ${
              counts.events + 1
            }`,
          );
          assertEquals(await liveStates(anonymous), { ws: "open", events: "open" });
          await anonymousContext.close();
          await live.close();
        },
      );

      await t.step("an admin revocation closes them within the re-check bound", async () => {
        await signIn();
        const live = await context.newPage();
        await openLive(live, publish);
        const revokedAt = Date.now();
        // As examples/app/README.md has it: every session of the identity.
        const revoked = await fetch(`${kratos.adminUrl}/admin/identities/${identityId}/sessions`, {
          method: "DELETE",
        });
        assertEquals(revoked.status, 204, await revoked.text());
        const ended = await waitEnded(live);
        await shot(live, "live-after-revocation");
        const ws = ended.ws - revokedAt;
        const events = ended.events - revokedAt;
        console.log(
          `revocation → WebSocket closed after ${ws} ms, event stream ended after ${events} ms ` +
            `(re-check every ${RECHECK_MS} ms, bound ${REVOCATION_BOUND_MS} ms)`,
        );
        check(ws <= REVOCATION_BOUND_MS, `WebSocket closed ${ws} ms after the revocation`);
        check(events <= REVOCATION_BOUND_MS, `event stream ended ${events} ms after it`);
        // The revoked session no longer opens protected pages.
        await page.goto(`${publish}/members`);
        await page.waitForURL(/\/login\?flow=/);
      });
    } catch (error) {
      console.error(await stack.logs());
      throw error;
    } finally {
      await browser.close();
      await stack.stop();
      await sink.close();
    }
  },
});

interface UiNode {
  attributes: { id?: string; name?: string; text?: { text?: string } };
}

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent())?.trim() ?? "";
}

/** The `X-Ory-*` headers the members page says it received. */
async function identityHeaders(page: Page): Promise<Record<string, string>> {
  const items = page.getByTestId("identity-headers").locator("code");
  const headers: Record<string, string> = {};
  for (const code of await items.all()) {
    const testId = (await code.getAttribute("data-testid")) ?? "";
    headers[testId.replace(/^identity-header-/, "")] = (await code.textContent()) ?? "";
  }
  return headers;
}

/** A flow as Kratos returns it, fetched through orygate with the browser's cookies. */
async function getFlow(
  page: Page,
  oryUrl: string,
  kind: string,
  id: string,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const res = await fetch(`${oryUrl}/self-service/${kind}/flows?id=${id}`, {
    headers: { cookie: await cookieHeader(page, oryUrl), accept: "application/json" },
  });
  const body = await res.json();
  assertEquals(res.status, 200, `${kind} flow: ${JSON.stringify(body)}`);
  return body;
}

/** The six-digit code of the first verification mail to `to` that arrived after `after` mails. */
async function mailedCode(sink: SmtpSink, to: string, after: number): Promise<string> {
  const mail = await sink.waitForMail((m) => m.to.includes(to), { after, timeoutMs: WAIT_MS });
  const code = /^\s*(\d{6})\s*$/m.exec(mail.text)?.[1];
  check(code, `a code in the mail "${mail.subject}": ${mail.text}`);
  return code;
}

/** Opens /live and waits until the WebSocket has echoed and the stream has delivered. */
async function openLive(page: Page, publish: string): Promise<void> {
  await page.goto(`${publish}/live`);
  await page.locator('[data-testid="live-ws"][data-state="open"]:not([data-count="0"])').waitFor();
  await page.locator('[data-testid="live-events"][data-state="open"]').waitFor();
}

/** Waits until both connections ended; the WebSocket must carry 1008 (policy violation). */
async function waitEnded(page: Page): Promise<{ ws: number; events: number }> {
  const ws = page.locator('[data-testid="live-ws"][data-state="closed"]');
  const events = page.locator('[data-testid="live-events"][data-state="ended"]');
  await ws.waitFor();
  await events.waitFor();
  assertEquals(await ws.getAttribute("data-code"), "1008");
  return {
    ws: Number(await ws.getAttribute("data-ended-at")),
    events: Number(await events.getAttribute("data-ended-at")),
  };
}

async function liveCounts(page: Page): Promise<{ ws: number; events: number }> {
  return {
    ws: Number(await page.getByTestId("live-ws").getAttribute("data-count")),
    events: Number(await page.getByTestId("live-events").getAttribute("data-count")),
  };
}

async function liveStates(page: Page): Promise<{ ws: string | null; events: string | null }> {
  return {
    ws: await page.getByTestId("live-ws").getAttribute("data-state"),
    events: await page.getByTestId("live-events").getAttribute("data-state"),
  };
}
