/**
 * Wires the session features for a config: keys and JWKS routes, whoami with its cache, the
 * gate for application requests, and the logout watcher that drops cached sessions (in every
 * instance, through Redis, with `--redis-url`).
 * Returns undefined when neither JWTs nor protection are on (the tunnel, `--no-jwt`).
 *
 * @example
 * ```ts ignore
 * const features = await createSessionFeatures(config, { logger });
 * createProxyEngine(config, { gate: features?.gate, routes: features?.routes });
 * ```
 */
import type { Config } from "../config/config.ts";
import { createJwksRoute } from "../jwt/jwks.ts";
import { type KeySet, loadConfiguredKeySet } from "../jwt/keys.ts";
import { createMinter } from "../jwt/mint.ts";
import type { BuiltinRoutes, ObservedResponse, SessionFollower } from "../proxy/contracts.ts";
import type { ProxyRequest } from "../http1/message.ts";
import type { Logger } from "../log/logger.ts";
import { NO_METRICS, type SessionCheckResult, type SessionMetrics } from "../metrics/metrics.ts";
import { createTtlCache } from "./cache.ts";
import { createLiveConnections, type EndReason } from "./live_connections.ts";
import type { RevocationBus, RevocationHandlers } from "./revocation_bus.ts";
import { extractCredentials, isOrySessionCookie } from "./credentials.ts";
import { createSessionGate, type SessionEntry, type SessionGate } from "./gate.ts";
import { compileAccessRules } from "./access_rules.ts";
import { createWhoami, type Whoami, type WhoamiResult } from "./whoami.ts";

/** What the handler needs from the session layer. */
export interface SessionFeatures {
  readonly gate: SessionGate;
  readonly routes: BuiltinRoutes;
  /** Ends WebSockets and streamed answers with their session (`live_connections.ts`). */
  readonly followSession: SessionFollower;
  readonly observeOry: (
    req: ProxyRequest,
    path: string,
  ) => ((res: ObservedResponse) => void) | undefined;
  /** Disconnects from Redis (`--redis-url`), if connected; stops following connections. */
  readonly close: () => void;
}

/** Effects, injectable for tests. */
export interface SessionFeatureDeps {
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** Told which keys sign the JWTs, once they are loaded or made (for the CLI's banner). */
  readonly onSigningKeys?: (keys: KeySet) => void;
  /** Counts session checks, cache hits, JWTs and denials; default: nothing. */
  readonly metrics?: SessionMetrics;
  /**
   * The signing keys, loaded already (with `--workers`, once by the parent for every
   * worker); default: loaded here from the config.
   */
  readonly keys?: KeySet;
  /**
   * Connects this cache to the others that must drop a session it saw end; default: the
   * Redis channel of `--redis-url`, if given. A worker is given its link to its parent, which
   * fans purges out to the other workers and to Redis.
   */
  readonly revocationBus?: (handlers: RevocationHandlers) => RevocationBus;
}

const MAX_CACHED_SESSIONS = 10_000;

/**
 * Whether the config turns session features on: `proxy` with JWTs, access rules or identity
 * headers.
 */
export function sessionFeaturesOn(config: Config): boolean {
  const anyRule = config.protect.length + config.requireAal2.length +
      config.requireVerifiedEmail.length + config.requireIdentity.length > 0;
  return config.mode === "proxy" && (config.jwt.enabled || anyRule || config.identityHeaders);
}

/**
 * The access rules of the config, compiled: throws ConfigError for a bad one. (With
 * `--workers`, the parent calls it first too, so a bad rule is reported before any key file
 * is touched.)
 */
export function compileRules(config: Config): ReturnType<typeof compileAccessRules> {
  return compileAccessRules({
    protect: config.protect,
    aal2: config.requireAal2,
    verifiedEmail: config.requireVerifiedEmail,
    identity: config.requireIdentity,
  });
}

/** Builds the session features, or undefined when none are on. */
export async function createSessionFeatures(
  config: Config,
  deps: SessionFeatureDeps,
): Promise<SessionFeatures | undefined> {
  if (config.mode !== "proxy") return undefined;
  // Compiled first so a bad rule is reported before any key file is touched.
  const requirementsFor = compileRules(config);
  if (!sessionFeaturesOn(config)) return undefined;

  let keys: KeySet | undefined;
  const routes = new Map<string, (req: ProxyRequest) => Response>();
  if (config.jwt.enabled) {
    keys = deps.keys ?? await loadConfiguredKeySet(config.jwt);
    deps.onSigningKeys?.(keys);
    const jwks = createJwksRoute(keys);
    routes.set(`${config.oryPrefix}/jwks.json`, jwks);
    routes.set(`${config.oryPrefix}/proxy/jwks.json`, jwks);
  }

  const metrics = deps.metrics ?? NO_METRICS;
  const cache = createTtlCache<SessionEntry>({ maxEntries: MAX_CACHED_SESSIONS, now: deps.now });
  const minter = keys
    ? createMinter({
      key: keys.keys[0],
      issuer: config.oryBase,
      ttlSeconds: config.jwt.ttlSeconds,
      now: deps.now,
    })
    : undefined;
  const whoami = countedWhoami(
    createWhoami({
      oryBase: config.oryBase,
      fetch: deps.fetch,
      headers: config.rateLimitAction ? { "ory-ratelimit-action": config.rateLimitAction } : {},
    }),
    metrics,
  );
  const gate = createSessionGate({
    whoami,
    cache,
    cacheTtlMs: config.jwt.sessionCacheTtlMs,
    mint: minter && ((session, expiresAt) => {
      metrics.jwtMinted();
      return minter(session, expiresAt);
    }),
    metrics,
    requirementsFor,
    identityHeaders: config.identityHeaders,
    publishOrigin: config.publishOrigin,
    oryPublicBase: config.oryPublicBase,
    now: deps.now,
    onError: (message) => deps.logger.error(message),
  });

  const live = createLiveConnections({
    whoami,
    recheckIntervalMs: config.jwt.sessionRecheckIntervalMs,
    now: deps.now,
    onInactive: (key) => cache.delete(key),
    onEnded: (count, reason, sessionId) =>
      deps.logger.info(
        `closed ${count} WebSocket/streamed connection${count === 1 ? "" : "s"} of session ` +
          `${sessionId || "(no id)"}: ${ENDED_BECAUSE[reason]}`,
      ),
    onCheckFailed: (message) =>
      message === undefined ? deps.logger.info("session re-checks work again") : deps.logger.warn(
        `a session re-check failed (${message}): open WebSockets and streams stay open ` +
          "until a check succeeds",
      ),
  });
  const followSession: SessionFollower = (session, req, end) => {
    const cred = extractCredentials(req.headers);
    // The gate hashed these very headers; anything else would follow the wrong session.
    if (cred === undefined || cred.key !== session.key) return () => {};
    const unfollow = live.follow(session, cred, end);
    // Purged while the answer was on its way (a logout during the WebSocket handshake): ask
    // Ory now rather than at the next re-check. (A cache entry that simply ran out costs
    // one whoami more, for long-lived answers only.)
    if (cache.peek(session.key) === undefined) live.recheck(session.key);
    return unfollow;
  };

  /**
   * The one place a purge takes effect in this event loop, whichever source it came from (a
   * logout here, another worker through the parent with `--workers`, another instance through
   * Redis, Redis coming back): the cached answer goes, and followed connections of the session
   * are checked with Ory at once (`*`: all of them).
   */
  const purge = (key: string) => {
    if (key === "*") cache.clear();
    else cache.delete(key);
    live.recheck(key);
  };
  // A logout seen here is dropped here at once, and everywhere else through the bus: Redis's
  // channel, or with `--workers` the parent, which tells the other workers and Redis.
  const handlers: RevocationHandlers = { onRevoked: purge, onResync: () => purge("*") };
  // The Redis client is loaded only when asked for: it is most of orygate's code, and loading
  // it cost every process ~12 MiB of RSS (docs/performance.md, issue 16).
  const bus = deps.revocationBus?.(handlers) ??
    (config.jwt.redisUrl === undefined
      ? undefined
      : (await import("./revocation_bus.ts")).connectRevocationBus(config.jwt.redisUrl, {
        ...handlers,
        logger: deps.logger,
        countError: metrics.redisError,
      }));
  const revoke = (key: string) => {
    purge(key);
    bus?.publish(key);
  };

  const observeOry = (req: ProxyRequest, path: string) => {
    const isLogout = path.startsWith("/self-service/logout");
    const completesFlow = !isLogout && completesSelfServiceFlow(path);
    return (res: ObservedResponse) => {
      if (res.status >= 400) return;
      if (isLogout && path.startsWith("/self-service/logout/api")) {
        // The token sits in the request body, which streamed on to Ory unread: drop all.
        revoke("*");
        return;
      }
      const changesSession = res.headers.getSetCookie().some((c) =>
        isOrySessionCookie(c.slice(0, c.indexOf("=")).trim())
      );
      if (isLogout || changesSession || completesFlow) {
        const cred = extractCredentials(req.headers);
        if (cred === undefined || cred.key === "") return;
        // A logout Ory carried out (it clears the session cookie; one it refused sends the
        // browser to the error page, also with a 303): no need to ask Ory before closing.
        if (path === "/self-service/logout" && clearsSessionCookie(res.headers)) {
          live.end(cred.key);
        }
        revoke(cred.key);
      }
    };
  };

  return {
    gate,
    routes,
    observeOry,
    followSession,
    close: () => {
      live.close();
      void bus?.close();
    },
  };
}

/**
 * Whether an Ory path is a self-service flow's submission or link (`POST
 * /self-service/settings?flow=…`, `GET /self-service/verification?flow=…&code=…`, an OIDC
 * callback under `/self-service/methods/`), which may change the session (an AAL2 login) or
 * the identity (a verified address, new traits), rather than a flow's start (`…/browser`,
 * `…/api`) or a read (`…/flows`). Its credential's cached answer is dropped when it succeeds,
 * so the rules see the new state at once: an API flow sets no cookie, and a browser's
 * verification sets none either, which would otherwise send the user round the flow again
 * until the cache entry expired.
 */
function completesSelfServiceFlow(path: string): boolean {
  return path.startsWith("/self-service/") &&
    !/^\/self-service\/[^/]+\/(?:browser|api|flows)$/.test(path);
}

/** Whether an answer removes an Ory session cookie (empty, or `Max-Age` not above 0). */
function clearsSessionCookie(headers: Headers): boolean {
  return headers.getSetCookie().some((c) => {
    const eq = c.indexOf("=");
    if (eq === -1 || !isOrySessionCookie(c.slice(0, eq).trim())) return false;
    const semi = c.indexOf(";");
    const value = c.slice(eq + 1, semi === -1 ? c.length : semi).trim();
    const maxAge = /;\s*max-age\s*=\s*(-?\d+)/i.exec(c)?.[1];
    return value === "" || value === '""' || (maxAge !== undefined && Number(maxAge) <= 0);
  });
}

const ENDED_BECAUSE: Record<EndReason, string> = {
  logout: "logged out",
  expired: "the session expired",
  inactive: "Ory no longer knows the session",
};

/** Each whoami call counted by its result, and timed. */
function countedWhoami(whoami: Whoami, metrics: SessionMetrics): Whoami {
  return async (cred, requestId) => {
    const started = performance.now();
    const result = await whoami(cred, requestId);
    metrics.sessionCheck(checkResult(result), (performance.now() - started) / 1000);
    return result;
  };
}

function checkResult(result: WhoamiResult): SessionCheckResult {
  if (result.kind === "active") return "active";
  if (result.kind === "none") return "inactive";
  if (result.kind === "aal2_required") return "aal2_required";
  // Only Ory's 429 comes with a time to wait.
  return result.retryAfter !== undefined ? "rate_limited" : "error";
}
