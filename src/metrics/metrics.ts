/**
 * What orygate counts, as one small interface the engine, the session gate and the HTTP/1.1
 * server are given. With `--metrics-address` it is the Prometheus registry
 * (`prometheus.ts`); without, {@linkcode NO_METRICS}, whose methods do nothing, so the hot
 * path pays one call that returns at once and keeps no state.
 *
 * The HTTP/1.1 layer sees only its generic part ({@linkcode ConnectionHooks}, structurally:
 * it imports nothing from here), so it stays free of Ory's concepts.
 *
 * @example
 * ```ts
 * import { NO_METRICS } from "./metrics.ts";
 * NO_METRICS.request("app", "GET", 200, 0.002); // counts nothing
 * NO_METRICS.enabled; // false
 * ```
 *
 * @module
 */

/** Where a request went: the application, Ory, or answered by orygate itself. */
export type RouteLabel = "app" | "ory" | "builtin";
/** Which upstream failed. */
export type UpstreamLabel = "app" | "ory";
/**
 * How an upstream failed before its response head: it could not be connected to, did not
 * answer in time, dropped the connection, or answered something that is not HTTP/1.1.
 */
export type UpstreamErrorKind = "connect" | "timeout" | "reset" | "protocol";
/**
 * What one session check with Ory (whoami) found; `aal2_required` is Kratos's 403
 * `session_aal2_required` (a session Ory will not describe below AAL2).
 */
export type SessionCheckResult =
  | "active"
  | "inactive"
  | "aal2_required"
  | "error"
  | "rate_limited";
/**
 * How a protected path was refused: a redirect (to log in, to step up to AAL2, to verify an
 * address), a 401, a 403 (a rule the session fails), or a 503 (Ory unavailable).
 */
export type DenialKind = "redirect" | "unauthorized" | "forbidden" | "unavailable";

/** The HTTP/1.1 server's part: connections and joined (WebSocket) tunnels. */
export interface ConnectionHooks {
  connectionOpened(): void;
  connectionClosed(): void;
  tunnelOpened(): void;
  tunnelClosed(): void;
}

/** What the session layer counts. */
export interface SessionMetrics {
  /** One whoami call's result and how long it took. */
  sessionCheck(result: SessionCheckResult, seconds: number): void;
  /** A request with an Ory credential found its session cached (or not). */
  sessionCache(hit: boolean): void;
  jwtMinted(): void;
  /** A failure talking to Redis (`--redis-url`): a connection error or a failed publish. */
  redisError(): void;
  protectionDenial(kind: DenialKind): void;
}

/** Everything orygate counts. */
export interface Metrics extends ConnectionHooks, SessionMetrics {
  /** False for {@linkcode NO_METRICS}: callers may skip work done only to count. */
  readonly enabled: boolean;
  /** One answered request: its route, method, status, and seconds to its response head. */
  request(route: RouteLabel, method: string, status: number, seconds: number): void;
  upstreamError(upstream: UpstreamLabel, kind: UpstreamErrorKind): void;
}

const nothing = () => {};

/** Counts nothing: metrics are off. */
export const NO_METRICS: Metrics = Object.freeze({
  enabled: false,
  request: nothing,
  upstreamError: nothing,
  sessionCheck: nothing,
  sessionCache: nothing,
  jwtMinted: nothing,
  redisError: nothing,
  protectionDenial: nothing,
  connectionOpened: nothing,
  connectionClosed: nothing,
  tunnelOpened: nothing,
  tunnelClosed: nothing,
});
