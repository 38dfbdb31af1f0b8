/**
 * The long-lived connections (WebSocket tunnels, streamed answers) opened with an active
 * session, grouped by the credential's cache key, and ended when that session ends:
 *
 * - **logout through this proxy** ({@linkcode LiveConnections.end}): at once;
 * - **a purge of the key from elsewhere** (another instance through Redis, another worker;
 *   {@linkcode LiveConnections.recheck}): the session is checked with Ory at once and its
 *   connections end if Ory no longer knows it. A purge only says "what you know about this
 *   credential may be stale": it is also sent when a session changes (an AAL2 step-up, a
 *   refresh) and stays valid, which must not end anything. A `*` purge (an API logout whose
 *   token was not seen) rechecks every followed session the same way, at most one such sweep
 *   a tick (a burst of API logouts is one sweep now and one a tick later);
 * - **`expires_at` passing**: checked once a second ({@linkcode TICK_MS});
 * - **a periodic re-check** every `recheckIntervalMs` (`--session-recheck-interval`, default
 *   30 s, 0: none) per session, which finds sessions revoked where orygate could not see it
 *   (Kratos's admin API, another device's logout through another proxy). Checks run on the
 *   tick nearest to when they are due, so a revocation is found within the interval plus
 *   half a second and Ory's answer.
 *
 * Bounds: one whoami per followed session (not per connection) per interval, at most
 * {@linkcode MAX_CONCURRENT_CHECKS} at once; a session waiting for its turn is not queued
 * twice. A check that fails (Ory unreachable, rate limiting) leaves the connections open and
 * is tried again an interval later: an outage of Ory does not cut every WebSocket.
 *
 * One clock tick (an unref'd interval timer) runs while anything is followed, none otherwise.
 *
 * @example
 * ```ts ignore
 * const live = createLiveConnections({ whoami, recheckIntervalMs: 30_000 });
 * const unfollow = live.follow(session, credentials, () => socket.close(1008));
 * live.end(session.key); // a logout: the socket closes
 * ```
 *
 * @module
 */
import type { AdmittedSession } from "../proxy/contracts.ts";
import type { Credentials } from "./credentials.ts";
import type { Whoami, WhoamiResult } from "./whoami.ts";

/** How often expiries and due re-checks are looked for, in milliseconds. */
export const TICK_MS = 1000;
/** Most session checks in flight at once. */
export const MAX_CONCURRENT_CHECKS = 16;

/** Why a session's connections were ended. */
export type EndReason = "logout" | "expired" | "inactive";

/** Timers, injectable for tests. */
export interface Ticker {
  start(tick: () => void, everyMs: number): unknown;
  stop(handle: unknown): void;
}

/** Settings and effects. */
export interface LiveConnectionsOptions {
  /** Asks Ory about a credential (the gate's whoami, counted). */
  readonly whoami: Whoami;
  /** Time between two checks of one followed session; 0: no periodic checks. */
  readonly recheckIntervalMs: number;
  readonly now?: () => number;
  readonly ticker?: Ticker;
  /** A check found the session gone: its cached answer should go too. */
  readonly onInactive?: (key: string) => void;
  /** `count` connections of session `sessionId` were ended. */
  readonly onEnded?: (count: number, reason: EndReason, sessionId: string) => void;
  /** A check failed (`message`), or checks work again after failing (undefined). */
  readonly onCheckFailed?: (message: string | undefined) => void;
}

/** The followed connections. */
export interface LiveConnections {
  /**
   * Follows one connection opened with `session` (whose credential is `credentials`):
   * `end` is called once when the session ends. Returns the function that stops following
   * (the connection ended by itself).
   */
  follow(session: AdmittedSession, credentials: Credentials, end: () => void): () => void;
  /** The session behind `key` was logged out: its connections end now. */
  end(key: string): void;
  /** Checks the session behind `key` (`*`: every followed session) with Ory now. */
  recheck(key: string): void;
  /** Connections followed now. */
  readonly size: number;
  /** Stops the clock tick (on shutdown). */
  close(): void;
}

/** The connections of one credential. */
interface Group {
  readonly key: string;
  /** Only what whoami needs (the app's cookies are not kept). */
  readonly credentials: Credentials;
  readonly sessionId: string;
  expiresAt: number | undefined;
  readonly ends: Set<() => void>;
  /** When the next periodic check is due. */
  nextCheckAt: number;
  /** Waiting in the queue, or being checked. */
  queued: boolean;
  checking: boolean;
  /** Asked for again while being checked: check once more afterwards. */
  again: boolean;
  /** The `*` purge count when its last check started: later purges need another. */
  checkedAtSweep: number;
}

const DEFAULT_TICKER: Ticker = {
  start(tick, everyMs) {
    const id = setInterval(tick, everyMs);
    // Never what keeps the process alive.
    Deno.unrefTimer(id);
    return id;
  },
  stop: (handle) => clearInterval(handle as number),
};

/** Creates the registry. */
export function createLiveConnections(options: LiveConnectionsOptions): LiveConnections {
  const now = options.now ?? Date.now;
  const ticker = options.ticker ?? DEFAULT_TICKER;
  const interval = options.recheckIntervalMs;
  const groups = new Map<string, Group>();
  const queue: Group[] = [];
  let inFlight = 0;
  let connections = 0;
  let tick: unknown;
  let failing = false;
  // `*` purges seen, when the last sweep for them ran, and whether one waits for its turn.
  let sweeps = 0;
  let lastSweepAt = -Infinity;
  let sweepWaiting = false;

  const startTick = () => {
    if (tick === undefined) tick = ticker.start(onTick, TICK_MS);
  };
  const stopTickIfIdle = () => {
    if (groups.size > 0 || tick === undefined) return;
    ticker.stop(tick);
    tick = undefined;
  };

  /** Ends every connection of `group` (each `end` once, each failure its own). */
  const endGroup = (group: Group, reason: EndReason) => {
    if (groups.get(group.key) !== group) return;
    groups.delete(group.key);
    const ends = [...group.ends];
    group.ends.clear();
    connections -= ends.length;
    for (const end of ends) {
      try {
        end();
      } catch {
        // one connection failing to close does not keep the others open
      }
    }
    options.onEnded?.(ends.length, reason, group.sessionId);
    stopTickIfIdle();
  };

  const enqueue = (group: Group) => {
    if (group.checking) {
      group.again = true;
      return;
    }
    if (group.queued) return;
    group.queued = true;
    queue.push(group);
    pump();
  };

  const pump = () => {
    while (inFlight < MAX_CONCURRENT_CHECKS && queue.length > 0) {
      const group = queue.shift()!;
      group.queued = false;
      if (groups.get(group.key) !== group) continue; // over meanwhile
      void check(group);
    }
  };

  const check = async (group: Group) => {
    inFlight++;
    group.checking = true;
    group.checkedAtSweep = sweeps;
    // The next check is due an interval after this one started, not after Ory answered
    // (which would push every check one tick later).
    group.nextCheckAt = now() + interval;
    let result: WhoamiResult;
    try {
      result = await options.whoami(group.credentials);
    } catch (err) {
      result = { kind: "error", reason: err instanceof Error ? err.message : String(err) };
    } finally {
      inFlight--;
      group.checking = false;
    }
    if (result.kind === "error") {
      if (!failing) options.onCheckFailed?.(result.reason);
      failing = true;
    } else {
      if (failing) options.onCheckFailed?.(undefined);
      failing = false;
      // Ory no longer knows the session, or the credential now names another one. (Kratos's
      // 403 session_aal2_required names none: the session exists but is not described below
      // AAL2, e.g. a second factor was enrolled since; what follows it stays open as it was.)
      const ended = result.kind === "none" ||
        (result.kind === "active" && (result.session.id ?? "") !== group.sessionId);
      if (ended) {
        options.onInactive?.(group.key);
        endGroup(group, "inactive");
      } else if (result.kind === "active") {
        group.expiresAt = result.expiresAt;
      }
    }
    if (group.again) {
      group.again = false;
      enqueue(group);
    }
    pump();
  };

  /**
   * Checks every session not checked since the last `*` purge. At most one sweep a tick:
   * each API logout is a `*`, and 20 in a row cost 675 whoami calls for 40 followed
   * sessions (about one sweep each) before sweeps were spaced; now a burst costs one sweep
   * now and one a tick later, whatever its size, and an ended session is still found
   * within a tick and Ory's answer.
   */
  const sweep = () => {
    sweepWaiting = false;
    lastSweepAt = now();
    for (const group of groups.values()) {
      // One being checked since before the purge is checked once more afterwards (enqueue).
      if (group.checkedAtSweep < sweeps) enqueue(group);
    }
  };

  function onTick() {
    const t = now();
    if (sweepWaiting && t - lastSweepAt >= TICK_MS) sweep();
    for (const group of groups.values()) {
      if (group.expiresAt !== undefined && group.expiresAt <= t) endGroup(group, "expired");
      // Due at the tick nearest to it: a check is at most half a tick early or late.
      else if (interval > 0 && group.nextCheckAt - t < TICK_MS / 2 && !group.checking) {
        enqueue(group);
      }
    }
  }

  return {
    follow(session, credentials, end) {
      let group = groups.get(session.key);
      if (group === undefined) {
        const { cookie, sessionToken, authorization, key } = credentials;
        group = {
          key: session.key,
          credentials: { cookie, sessionToken, authorization, key },
          sessionId: session.id,
          expiresAt: session.expiresAt,
          ends: new Set(),
          nextCheckAt: now() + interval,
          queued: false,
          checking: false,
          again: false,
          checkedAtSweep: sweeps,
        };
        groups.set(session.key, group);
        startTick();
      } else if (
        session.expiresAt !== undefined &&
        (group.expiresAt === undefined || session.expiresAt > group.expiresAt)
      ) {
        // A later answer (the session was extended); expiry never moves earlier.
        group.expiresAt = session.expiresAt;
      }
      const followed = group;
      // Each call follows one connection, even when two pass the same function.
      const entry = () => end();
      followed.ends.add(entry);
      connections++;
      return () => {
        if (!followed.ends.delete(entry)) return;
        connections--;
        if (followed.ends.size === 0 && groups.get(followed.key) === followed) {
          groups.delete(followed.key);
          stopTickIfIdle();
        }
      };
    },
    end(key) {
      const group = groups.get(key);
      if (group !== undefined) endGroup(group, "logout");
    },
    recheck(key) {
      if (key !== "*") {
        const group = groups.get(key);
        if (group !== undefined) enqueue(group);
        return;
      }
      sweeps++;
      if (now() - lastSweepAt >= TICK_MS) sweep();
      else sweepWaiting = true;
    },
    get size() {
      return connections;
    },
    close() {
      if (tick !== undefined) ticker.stop(tick);
      tick = undefined;
    },
  };
}
