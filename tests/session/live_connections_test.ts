import type { Credentials } from "../../src/session/credentials.ts";
import {
  createLiveConnections,
  type EndReason,
  MAX_CONCURRENT_CHECKS,
  TICK_MS,
  type Ticker,
} from "../../src/session/live_connections.ts";
import type { WhoamiResult } from "../../src/session/whoami.ts";
import { assertEquals } from "../_support/assert.ts";

/** A clock the test moves, and the registry's tick driven by it. */
function fakeClock(start = 1_000_000) {
  let t = start;
  let tick: (() => void) | undefined;
  let last = start;
  const ticker: Ticker = {
    start(fn) {
      tick = fn;
      last = t;
      return 1;
    },
    stop() {
      tick = undefined;
    },
  };
  return {
    now: () => t,
    ticker,
    get ticking() {
      return tick !== undefined;
    },
    /** Moves time on by `ms`, ticking once a second as the interval timer would. */
    async advance(ms: number) {
      const until = t + ms;
      while (tick !== undefined && last + TICK_MS <= until) {
        t = last += TICK_MS;
        tick();
        await flush();
      }
      t = until;
      await flush();
    },
  };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** Ory as the test wants it: answers per credential key, counted. */
function fakeOry() {
  const answers = new Map<string, WhoamiResult>();
  const asked: string[] = [];
  const gates: (() => void)[] = [];
  let held = false;
  return {
    answers,
    asked,
    /** While held, checks wait until released. */
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const g of gates.splice(0)) g();
    },
    whoami: async (cred: Credentials): Promise<WhoamiResult> => {
      asked.push(cred.key);
      if (held) await new Promise<void>((r) => gates.push(r));
      return answers.get(cred.key) ?? { kind: "none" };
    },
  };
}

const active = (id: string, expiresAt?: number): WhoamiResult => ({
  kind: "active",
  session: { id, active: true, identity: { id: `identity-${id}` } },
  expiresAt,
});

const cred = (key: string): Credentials => ({
  key,
  cookie: `ory_kratos_session=${key}`,
  appCookie: "theme=dark",
});

function setup(recheckIntervalMs = 30_000) {
  const clock = fakeClock();
  const ory = fakeOry();
  const ended: { count: number; reason: EndReason; sessionId: string }[] = [];
  const inactive: string[] = [];
  const failures: (string | undefined)[] = [];
  const live = createLiveConnections({
    whoami: ory.whoami,
    recheckIntervalMs,
    now: clock.now,
    ticker: clock.ticker,
    onInactive: (key) => inactive.push(key),
    onEnded: (count, reason, sessionId) => ended.push({ count, reason, sessionId }),
    onCheckFailed: (message) => failures.push(message),
  });
  /** Follows one connection of `key`; `closed` counts its `end` calls. */
  const open = (key: string, id = `s-${key}`, expiresAt?: number) => {
    const conn = { closed: 0, unfollow: () => {} };
    conn.unfollow = live.follow({ key, id, expiresAt }, cred(key), () => conn.closed++);
    return conn;
  };
  return { clock, ory, live, ended, inactive, failures, open };
}

Deno.test("live connections: a logout ends that session's connections, and only those", () => {
  const { live, open, ended, clock } = setup();
  const a1 = open("a");
  const a2 = open("a");
  const b = open("b");
  assertEquals(live.size, 3);
  live.end("a");
  assertEquals([a1.closed, a2.closed, b.closed], [1, 1, 0]);
  assertEquals(ended, [{ count: 2, reason: "logout", sessionId: "s-a" }]);
  assertEquals(live.size, 1);
  live.end("a"); // nothing left to end
  assertEquals(a1.closed, 1);
  b.unfollow();
  assertEquals(live.size, 0);
  assertEquals(clock.ticking, false, "no tick while nothing is followed");
});

Deno.test("live connections: expires_at passing ends the connections within a tick", async () => {
  const { live, open, clock, ended, ory } = setup(0);
  const soon = open("a", "s-a", clock.now() + 2_500);
  const later = open("b", "s-b", clock.now() + 60_000);
  const never = open("c"); // Ory named no expiry
  await clock.advance(2_000);
  assertEquals(soon.closed, 0);
  await clock.advance(1_000);
  assertEquals(soon.closed, 1, "closed at the first tick after expires_at");
  assertEquals(ended, [{ count: 1, reason: "expired", sessionId: "s-a" }]);
  await clock.advance(57_000);
  assertEquals([later.closed, never.closed], [1, 0]);
  assertEquals(ory.asked, [], "re-checks are off (0): Ory is never asked");
  assertEquals(live.size, 1);
});

Deno.test("live connections: a later answer moves the expiry later, never earlier", async () => {
  const { open, clock } = setup(0);
  const first = open("a", "s-a", clock.now() + 5_000);
  open("a", "s-a", clock.now() + 20_000); // the session was extended meanwhile
  open("a", "s-a", clock.now() + 1_000); // an older cached answer
  await clock.advance(10_000);
  assertEquals(first.closed, 0);
  await clock.advance(11_000);
  assertEquals(first.closed, 1);
});

Deno.test("live connections: the periodic re-check ends what Ory no longer knows", async (t) => {
  const { open, clock, ory, ended, inactive, live } = setup(30_000);
  ory.answers.set("a", active("s-a"));
  ory.answers.set("b", active("s-b"));
  const a = open("a");
  const b1 = open("b");
  const b2 = open("b");

  await t.step("within the interval nobody is asked", async () => {
    await clock.advance(29_000);
    assertEquals(ory.asked, []);
  });
  await t.step("once per session, not per connection, each interval", async () => {
    await clock.advance(1_000);
    assertEquals(ory.asked.sort(), ["a", "b"]);
    await clock.advance(30_000);
    assertEquals(ory.asked.length, 4);
  });
  await t.step("revoked at Ory (its admin API): closed at the next check", async () => {
    ory.answers.set("b", { kind: "none" });
    await clock.advance(29_000);
    assertEquals(b1.closed, 0);
    await clock.advance(1_000);
    assertEquals([a.closed, b1.closed, b2.closed], [0, 1, 1]);
    assertEquals(ended, [{ count: 2, reason: "inactive", sessionId: "s-b" }]);
    assertEquals(inactive, ["b"], "the cached answer is dropped too");
    assertEquals(live.size, 1);
  });
  await t.step("a credential that now names another session ends too", async () => {
    ory.answers.set("a", active("someone-else"));
    await clock.advance(30_000);
    assertEquals(a.closed, 1);
    assertEquals(live.size, 0);
  });
});

Deno.test("live connections: a failed check keeps connections open and is retried", async () => {
  const { open, clock, ory, failures } = setup(30_000);
  const a = open("a");
  ory.answers.set("a", { kind: "error", reason: "Ory could not be reached" });
  await clock.advance(30_000);
  await clock.advance(30_000);
  assertEquals(a.closed, 0);
  assertEquals(ory.asked, ["a", "a"]);
  assertEquals(failures, ["Ory could not be reached"], "told once per outage");
  ory.answers.set("a", active("s-a"));
  await clock.advance(30_000);
  assertEquals(failures, ["Ory could not be reached", undefined], "and once when it is over");
  ory.answers.set("a", { kind: "none" });
  await clock.advance(30_000);
  assertEquals(a.closed, 1);
});

Deno.test("live connections: a purged key is checked at once; a valid session stays", async () => {
  const { live, open, ory, clock } = setup(30_000);
  ory.answers.set("a", active("s-a"));
  const a = open("a");
  const b = open("b");
  // A purge from another instance: an AAL2 step-up there, say. Ory still knows the session.
  live.recheck("a");
  await clock.advance(0);
  assertEquals(ory.asked, ["a"]);
  assertEquals(a.closed, 0);
  // A purge for a key nobody here follows costs nothing.
  live.recheck("zzz");
  await clock.advance(0);
  assertEquals(ory.asked, ["a"]);
  // A logout elsewhere: Ory says no, the connection ends without waiting for the interval.
  ory.answers.set("a", { kind: "none" });
  live.recheck("a");
  await clock.advance(0);
  assertEquals(a.closed, 1);
  assertEquals(b.closed, 0);
});

Deno.test("live connections: a `*` purge re-checks every session, closing only the ended", async () => {
  const { live, open, ory, clock } = setup(0); // even with periodic checks off
  const conns = new Map<string, ReturnType<typeof open>>();
  for (const key of ["a", "b", "c", "d"]) {
    conns.set(key, open(key));
    ory.answers.set(key, active(`s-${key}`));
  }
  ory.answers.set("c", { kind: "none" }); // the API logout was this one's
  live.recheck("*");
  await clock.advance(0);
  assertEquals(ory.asked.sort(), ["a", "b", "c", "d"]);
  assertEquals([...conns.values()].map((c) => c.closed), [0, 0, 1, 0]);
});

Deno.test("live connections: checks are bounded in flight and never queued twice", async () => {
  const { live, open, ory, clock } = setup(30_000);
  const n = MAX_CONCURRENT_CHECKS + 4;
  for (let i = 0; i < n; i++) {
    open(`k${i}`);
    ory.answers.set(`k${i}`, active(`s-k${i}`));
  }
  ory.hold();
  live.recheck("*");
  live.recheck("*"); // a second purge while the first is under way
  await clock.advance(0);
  assertEquals(ory.asked.length, MAX_CONCURRENT_CHECKS, "at most this many at once");
  ory.release();
  await clock.advance(0);
  ory.release();
  await clock.advance(0);
  assertEquals(ory.asked.length, n, "the second purge's sweep waits for the next tick");
  ory.release();
  await clock.advance(TICK_MS);
  ory.release();
  await clock.advance(0);
  // Each once for the first purge, and the ones under way once more for the second (it may
  // have come after Ory answered them); the queued ones were not queued twice.
  assertEquals(ory.asked.length, n + MAX_CONCURRENT_CHECKS);
  assertEquals(new Set(ory.asked).size, n);
});

Deno.test("live connections: a burst of `*` purges is one sweep now and one a tick later", async () => {
  const { live, open, ory, clock } = setup(0);
  const n = 40;
  for (let i = 0; i < n; i++) {
    open(`k${i}`);
    ory.answers.set(`k${i}`, active(`s-k${i}`));
  }
  // 20 API logouts one after another (each answered before the next), as an attacker with a
  // login could send them: before sweeps were spaced, each one asked Ory about all 40.
  for (let i = 0; i < 20; i++) {
    live.recheck("*");
    await clock.advance(10);
  }
  assertEquals(ory.asked.length, n, "the first purge's sweep");
  ory.answers.set("k7", { kind: "none" }); // this one's logout came in the burst
  await clock.advance(TICK_MS);
  assertEquals(ory.asked.length, 2 * n, "one more sweep for the rest of the burst");
  await clock.advance(5 * TICK_MS);
  assertEquals(ory.asked.length, 2 * n, "and nothing after it");
  assertEquals(live.size, n - 1, "the ended session was found");
});

Deno.test("live connections: unfollowed connections are never ended", () => {
  const { live, open } = setup();
  const a = open("a");
  a.unfollow();
  a.unfollow();
  live.end("a");
  assertEquals(a.closed, 0);
  assertEquals(live.size, 0);
});

Deno.test("live connections: Ory's answer time does not stretch the interval", async () => {
  const clock = fakeClock();
  const askedAt: number[] = [];
  const answers: (() => void)[] = [];
  const live = createLiveConnections({
    recheckIntervalMs: 2_000,
    now: clock.now,
    ticker: clock.ticker,
    whoami: (): Promise<WhoamiResult> => {
      askedAt.push(clock.now());
      return new Promise((r) => answers.push(() => r(active("s-a"))));
    },
  });
  const start = clock.now();
  live.follow({ key: "a", id: "s-a" }, cred("a"), () => {});
  for (let i = 0; i < 4; i++) {
    // Ory takes 600 ms to answer each check; the tick comes at each whole second.
    await clock.advance(600);
    answers.shift()?.();
    await clock.advance(400);
  }
  // Every 2 s, as asked; not every 3 s (2 s after the answer, then on to the next tick).
  assertEquals(askedAt.map((t) => t - start), [2_000, 4_000]);
  live.close();
});

Deno.test("live connections: whoami's session_aal2_required is a session, not an ending", async () => {
  // Kratos with `required_aal: highest_available` once the identity enrolled a second factor:
  // the session still exists, it is only not described below AAL2.
  const { open, clock, ory, ended, inactive } = setup(30_000);
  const a = open("a", "s-a", clock.now() + 90_000);
  ory.answers.set("a", { kind: "aal2_required" });
  await clock.advance(60_000);
  assertEquals([a.closed, ory.asked.length, ended, inactive], [0, 2, [], []]);
  // Its expiry still ends it.
  await clock.advance(31_000);
  assertEquals(a.closed, 1);
  assertEquals(ended, [{ count: 1, reason: "expired", sessionId: "s-a" }]);
});
