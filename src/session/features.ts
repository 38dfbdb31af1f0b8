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
import type { BuiltinRoutes, ObservedResponse } from "../proxy/contracts.ts";
import type { ProxyRequest } from "../http1/message.ts";
import type { Logger } from "../log/logger.ts";
import { NO_METRICS, type SessionCheckResult, type SessionMetrics } from "../metrics/metrics.ts";
import { createTtlCache } from "./cache.ts";
import {
  connectRevocationBus,
  type RevocationBus,
  type RevocationHandlers,
} from "./revocation_bus.ts";
import { extractCredentials, isOrySessionCookie } from "./credentials.ts";
import { createSessionGate, type SessionEntry, type SessionGate } from "./gate.ts";
import { compileProtection } from "./protect.ts";
import { createWhoami, type Whoami, type WhoamiResult } from "./whoami.ts";

/** What the handler needs from the session layer. */
export interface SessionFeatures {
  readonly gate: SessionGate;
  readonly routes: BuiltinRoutes;
  readonly observeOry: (
    req: ProxyRequest,
    path: string,
  ) => ((res: ObservedResponse) => void) | undefined;
  /** Disconnects from Redis (`--redis-url`), if connected. */
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

/** Whether the config turns session features on: `proxy` with JWTs or protected paths. */
export function sessionFeaturesOn(config: Config): boolean {
  return config.mode === "proxy" && (config.jwt.enabled || config.protect.length > 0);
}

/** Builds the session features, or undefined when none are on. */
export async function createSessionFeatures(
  config: Config,
  deps: SessionFeatureDeps,
): Promise<SessionFeatures | undefined> {
  if (config.mode !== "proxy") return undefined;
  // Compiled first so a bad rule is reported before any key file is touched.
  const isProtected = compileProtection(config.protect);
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
  const gate = createSessionGate({
    whoami: countedWhoami(
      createWhoami({
        oryBase: config.oryBase,
        fetch: deps.fetch,
        headers: config.rateLimitAction ? { "ory-ratelimit-action": config.rateLimitAction } : {},
      }),
      metrics,
    ),
    cache,
    cacheTtlMs: config.jwt.sessionCacheTtlMs,
    mint: minter && ((session, expiresAt) => {
      metrics.jwtMinted();
      return minter(session, expiresAt);
    }),
    metrics,
    isProtected,
    publishOrigin: config.publishOrigin,
    oryPublicBase: config.oryPublicBase,
    now: deps.now,
    onError: (message) => deps.logger.error(message),
  });

  /**
   * The one place a session leaves this cache (`*`: every session), whoever saw it end: a
   * logout through this event loop, another worker (through the parent), another instance
   * (through Redis), or a resync after Redis was unreachable.
   */
  const purgeLocal = (key: string) => key === "*" ? cache.clear() : cache.delete(key);
  // A logout seen here is dropped here at once, and everywhere else through the bus.
  const handlers: RevocationHandlers = { onRevoked: purgeLocal, onResync: () => purgeLocal("*") };
  const bus = deps.revocationBus?.(handlers) ??
    (config.jwt.redisUrl === undefined ? undefined : connectRevocationBus(config.jwt.redisUrl, {
      ...handlers,
      logger: deps.logger,
      countError: metrics.redisError,
    }));
  const revoke = (key: string) => {
    purgeLocal(key);
    bus?.publish(key);
  };

  const observeOry = (req: ProxyRequest, path: string) => {
    const isLogout = path.startsWith("/self-service/logout");
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
      if (isLogout || changesSession) {
        const cred = extractCredentials(req.headers);
        if (cred !== undefined && cred.key !== "") revoke(cred.key);
      }
    };
  };

  return { gate, routes, observeOry, close: () => void bus?.close() };
}

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
  // Only Ory's 429 comes with a time to wait.
  return result.retryAfter !== undefined ? "rate_limited" : "error";
}
