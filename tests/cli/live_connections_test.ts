/**
 * Long-lived connections follow their session, through the real CLI, the Ory stand-in and
 * the test app's WebSocket echo and event stream: a logout through the proxy closes the
 * session's WebSockets with 1008 and ends its event streams cleanly at once; a session Ory
 * stops knowing (revoked through its admin API) within `--session-recheck-interval`; one whose
 * `expires_at` passes at that time; a logout through another instance, carried by a real
 * redis-server, at once. Anonymous connections and other sessions' stay open throughout.
 */
import { type CliProcess, startCli } from "../_support/cli.ts";
import { type FakeOry, startFakeOry } from "../_support/fake_ory.ts";
import { startRedis } from "../_support/servers.ts";
import { startTestApp, type TestApp } from "../_support/test_app.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An open WebSocket through the proxy, its close (code, reason, when) once it comes. */
interface OpenSocket {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  isClosed(): boolean;
  /** Sends `text` and waits for the echo. */
  echo(text: string): Promise<string>;
}

async function openSocket(proxy: CliProcess, token?: string): Promise<OpenSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws`, {
    headers: token ? { cookie: `ory_kratos_session=${token}` } : {},
  });
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => {
    ws.onclose = (e) => {
      isClosed = true;
      resolve({ code: e.code, reason: e.reason, at: performance.now() });
    };
  });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("the WebSocket did not open"));
  });
  return {
    ws,
    closed,
    isClosed: () => isClosed,
    echo: (text) =>
      new Promise<string>((resolve, reject) => {
        ws.onmessage = (e) => resolve(e.data);
        ws.send(text);
        setTimeout(() => reject(new Error(`no echo of ${text}`)), 5000);
      }),
  };
}

/** An event stream through the proxy (one event every 100 ms), read in the background. */
interface OpenStream {
  readonly events: () => number;
  /** Resolves when the stream ends: cleanly (`done`) or cut (`error`). */
  readonly ended: Promise<{ how: "done" | "error"; at: number; detail?: string }>;
  cancel(): Promise<void>;
}

async function openStream(proxy: CliProcess, token?: string): Promise<OpenStream> {
  const res = await fetch(`http://127.0.0.1:${proxy.port}/sse?events=100000&interval=100`, {
    headers: token ? { cookie: `ory_kratos_session=${token}` } : {},
  });
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/event-stream");
  const reader = res.body!.getReader();
  let events = 0;
  const decoder = new TextDecoder();
  const ended = (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) return { how: "done" as const, at: performance.now() };
        events += decoder.decode(r.value).split("data:").length - 1;
      }
    } catch (err) {
      return { how: "error" as const, at: performance.now(), detail: String(err) };
    }
  })();
  // The first event is in: the stream is open end to end.
  while (events === 0) await sleep(20);
  return { events: () => events, ended, cancel: () => reader.cancel().catch(() => {}) };
}

/** Whether `stream` is still delivering events: one more arrives within 2 s. */
async function stillStreaming(stream: OpenStream): Promise<boolean> {
  const before = stream.events();
  const deadline = performance.now() + 2000;
  while (performance.now() < deadline) {
    if (stream.events() > before) return true;
    await sleep(20);
  }
  return false;
}

function within<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      throw new Error(`${what}: nothing within ${ms} ms`);
    }),
  ]);
}

function proxyArgs(app: TestApp, ory: FakeOry, extra: string[]): string[] {
  // A minute of session caching: nothing here may come from the cache running out.
  return ["proxy", app.origin, "--sdk-url", ory.origin, "--session-cache-ttl", "60s", ...extra];
}

/** Logs `token` out through `proxy`; resolves to when the request was sent. */
async function logout(proxy: CliProcess, token: string): Promise<number> {
  const sent = performance.now();
  const res = await fetch(`http://127.0.0.1:${proxy.port}/.ory/self-service/logout?token=t`, {
    headers: { cookie: `ory_kratos_session=${token}` },
    redirect: "manual",
  });
  await res.body?.cancel();
  assertEquals(res.status, 303);
  return sent;
}

Deno.test("live connections: logout, revocation at Ory and expiry end them", opts, async (t) => {
  const ory = startFakeOry();
  const app = startTestApp();
  const session = (token: string, expiresAt?: string) =>
    ory.sessions.set(token, {
      id: `s-${token}`,
      identityId: `i-${token}`,
      email: "x@y.z",
      expiresAt,
    });
  // Re-checks off: whatever closes here is the logout itself (or the expiry), not a re-check.
  const noRecheck = await startCli(proxyArgs(app, ory, ["--session-recheck-interval", "0"]));
  const recheck = await startCli(proxyArgs(app, ory, ["--session-recheck-interval", "1s"]));
  const cleanup: (() => unknown)[] = [];
  try {
    await t.step(
      "logout through the proxy: 1008 and a clean end at once; others untouched",
      async () => {
        session("alice");
        session("bob");
        const alice = await openSocket(noRecheck, "alice");
        const bob = await openSocket(noRecheck, "bob");
        const anonymous = await openSocket(noRecheck);
        const aliceEvents = await openStream(noRecheck, "alice");
        const anonymousEvents = await openStream(noRecheck);
        cleanup.push(
          () => anonymousEvents.cancel(),
          () => bob.ws.close(),
          () => anonymous.ws.close(),
        );
        assertEquals(await alice.echo("hi"), "hi");
        const closesBefore = app.wsCloses.length;

        const loggedOut = await logout(noRecheck, "alice");
        const closed = await within("alice's WebSocket closing", alice.closed, 5000);
        assertEquals([closed.code, closed.reason], [1008, "session ended"]);
        const ended = await within("alice's event stream ending", aliceEvents.ended, 5000);
        assertEquals(ended.how, "done", `the stream ends cleanly, not cut: ${ended.detail}`);
        console.log(
          `logout → WebSocket closed after ${(closed.at - loggedOut).toFixed(0)} ms, ` +
            `event stream ended after ${(ended.at - loggedOut).toFixed(0)} ms`,
        );
        // Bounded generously for a loaded machine; the re-check is off, so only the logout can
        // have closed them, and the stand-in's session cache lasts a minute.
        assert(closed.at - loggedOut < 2000 && ended.at - loggedOut < 2000);

        // The app's side of the tunnel was closed as well, with the same code.
        await within(
          "the app seeing the close",
          (async () => {
            while (app.wsCloses.length === closesBefore) await sleep(20);
          })(),
          5000,
        );
        assertEquals(app.wsCloses.at(-1), { code: 1008, reason: "session ended" });

        assertEquals(await bob.echo("still here"), "still here");
        assertEquals(await anonymous.echo("me too"), "me too");
        assert(await stillStreaming(anonymousEvents), "the anonymous event stream goes on");
        assertEquals(bob.isClosed() || anonymous.isClosed(), false);
        assertMatchOnce(
          noRecheck.output(),
          /closed 2 WebSocket\/streamed connections of session s-alice: logged out/,
        );
      },
    );

    await t.step("a logout Ory refused ends nothing", async () => {
      session("carol");
      const carol = await openSocket(noRecheck, "carol");
      cleanup.push(() => carol.ws.close());
      // The logout URL of the browser flow only makes a token: nobody is logged out.
      const res = await fetch(
        `http://127.0.0.1:${noRecheck.port}/.ory/self-service/logout/browser`,
        {
          headers: { cookie: "ory_kratos_session=carol" },
        },
      );
      await res.body?.cancel();
      await sleep(500);
      assertEquals(await carol.echo("ok"), "ok");
    });

    await t.step("revoked at Ory: closed within the re-check interval (1s)", async () => {
      session("dave");
      session("erin");
      const dave = await openSocket(recheck, "dave");
      const daveEvents = await openStream(recheck, "dave");
      const erin = await openSocket(recheck, "erin");
      const anonymous = await openSocket(recheck);
      cleanup.push(() => erin.ws.close(), () => anonymous.ws.close());
      await sleep(1500); // re-checks have found dave active at least once
      assertEquals(dave.isClosed(), false);

      // Revoked through the admin API: orygate sees nothing of it but its re-check.
      ory.sessions.get("dave")!.active = false;
      const revoked = performance.now();
      const closed = await within("dave's WebSocket closing", dave.closed, 8000);
      const ended = await within("dave's stream ending", daveEvents.ended, 8000);
      assertEquals(closed.code, 1008);
      assertEquals(ended.how, "done");
      const after = Math.max(closed.at, ended.at) - revoked;
      console.log(`revoked at Ory → closed after ${after.toFixed(0)} ms (interval 1 s)`);
      // The bound: the interval, plus at most one tick (1 s), plus Ory's answer.
      assert(after < 4000, `closed after ${after.toFixed(0)} ms`);
      assertEquals(await erin.echo("fine"), "fine");
      assertEquals(await anonymous.echo("fine"), "fine");
      assertMatchOnce(recheck.output(), /of session s-dave: Ory no longer knows the session/);
    });

    await t.step("expires_at passing closes them (re-checks off)", async () => {
      const expiresAt = Date.now() + 3000;
      session("frank", new Date(expiresAt).toISOString());
      const frank = await openSocket(noRecheck, "frank");
      const frankEvents = await openStream(noRecheck, "frank");
      const closed = await within("frank's WebSocket closing", frank.closed, 10_000);
      const ended = await within("frank's stream ending", frankEvents.ended, 10_000);
      const closedAt = performance.timeOrigin + closed.at;
      assertEquals([closed.code, ended.how], [1008, "done"]);
      console.log(`expires_at + ${(closedAt - expiresAt).toFixed(0)} ms: closed`);
      assert(closedAt >= expiresAt, "not before expires_at");
      assert(closedAt - expiresAt < 3000, "within a tick of it (and a loaded machine)");
      assertMatchOnce(noRecheck.output(), /of session s-frank: the session expired/);
    });
  } catch (err) {
    for (const p of [noRecheck, recheck]) console.error(`--- orygate output ---\n${p.output()}`);
    throw err;
  } finally {
    for (const c of cleanup) await c();
    await Promise.all([noRecheck.stop(), recheck.stop()]);
    await app.close();
    await ory.close();
  }
});

Deno.test(
  "live connections: a logout through another instance arrives through Redis",
  opts,
  async () => {
    const ory = startFakeOry();
    const app = startTestApp();
    const redis = await startRedis();
    const env = { ORYGATE_REDIS_URL: `redis://127.0.0.1:${redis.port}` };
    // Re-checks off on both: only the purge from the other instance can close the socket.
    const args = proxyArgs(app, ory, ["--session-recheck-interval", "0"]);
    const [a, b] = await Promise.all([startCli(args, { env }), startCli(args, { env })]);
    const cleanup: (() => unknown)[] = [];
    try {
      ory.sessions.set("grace", { id: "s-grace", identityId: "i-grace", email: "g@x.y" });
      ory.sessions.set("heidi", { id: "s-heidi", identityId: "i-heidi", email: "h@x.y" });
      const grace = await openSocket(b, "grace");
      const graceEvents = await openStream(b, "grace");
      const heidi = await openSocket(b, "heidi");
      cleanup.push(() => heidi.ws.close());
      // Both instances subscribed: a purge sent now reaches b.
      await sleep(500);

      const loggedOut = await logout(a, "grace");
      const closed = await within(
        "the WebSocket on the other instance closing",
        grace.closed,
        5000,
      );
      const ended = await within(
        "the stream on the other instance ending",
        graceEvents.ended,
        5000,
      );
      assertEquals([closed.code, closed.reason, ended.how], [1008, "session ended", "done"]);
      console.log(`logout on a → closed on b after ${(closed.at - loggedOut).toFixed(0)} ms`);
      assert(closed.at - loggedOut < 3000);
      assertEquals(await heidi.echo("here"), "here");
    } catch (err) {
      for (const p of [a, b]) console.error(`--- orygate output ---\n${p.output()}`);
      throw err;
    } finally {
      for (const c of cleanup) await c();
      await Promise.all([a.stop(), b.stop()]);
      await redis.stop();
      await app.close();
      await ory.close();
    }
  },
);

function assertMatchOnce(text: string, re: RegExp): void {
  assertEquals(text.match(new RegExp(re, "g"))?.length, 1, `once in the log: ${re}`);
}
