/**
 * The engine's contracts: what it is ({@linkcode ProxyEngine}) and what plugs into it
 * ({@linkcode ProxyHandlerDeps}: the upstream client, the gate for application requests,
 * built-in routes, the observer of Ory's responses, the follower of long-lived answers'
 * sessions). Types only, so the session layer, the
 * web adapter and the CLI can name them without importing the engine itself.
 *
 * @example
 * ```ts
 * import type { AppRequestGate } from "./contracts.ts";
 * // A gate that lets nobody without a cookie reach the app.
 * const gate: AppRequestGate = (req) =>
 *   req.headers.has("cookie") ? undefined : new Response("sign in first", { status: 401 });
 * ```
 *
 * @module
 */
import type { ClientInfo, ProxyRequest, ProxyResult } from "../http1/message.ts";
import type { UpstreamClient } from "../http1/upstream.ts";
import type { Logger } from "../log/logger.ts";
import type { Metrics } from "../metrics/metrics.ts";

export type { ClientInfo };

/** What a gate tells the engine about a request, for its access line. */
export interface GateFacts {
  /** The Ory identity whose active session the request carried. */
  identityId?: string;
  /**
   * The active session the request was let through with: a WebSocket or a streamed answer
   * to it is ended when that session ends ({@linkcode SessionFollower}).
   */
  session?: AdmittedSession;
}

/** An active session, as the gate found it (one object per whoami answer, not per request). */
export interface AdmittedSession {
  /** The credential's cache key (a hash, never the credential): what a logout purges. */
  readonly key: string;
  /** Ory's session id. */
  readonly id: string;
  /** When the session expires, in ms since the epoch, if Ory said. */
  readonly expiresAt?: number;
}

/**
 * Follows a long-lived answer (a WebSocket tunnel, a streamed body) sent to a request with
 * `session`: `end` is called once when the session ends (a logout, its expiry, Ory no longer
 * knowing it). Returns the function that stops following, for when the answer is over first.
 */
export type SessionFollower = (
  session: AdmittedSession,
  req: ProxyRequest,
  end: () => void,
) => () => void;

/**
 * Decides about a request bound for the application, after its headers are built: it may
 * set `Authorization` on `headers`, or answer itself (a login redirect, a 401). `connection`
 * is the request's {@linkcode ClientInfo} (one object per client connection under orygate's
 * server), for state that lives as long as the connection; `facts` is where it reports what
 * it found. Synchronous answers skip a promise on the hot path.
 */
export type AppRequestGate = (
  req: ProxyRequest,
  headers: Headers,
  url: URL,
  connection?: object,
  facts?: GateFacts,
) => Response | undefined | Promise<Response | undefined>;

/**
 * Built-in routes answered by the proxy itself (the JWKS, the health checks), by exact path.
 * They are looked up before routing: never forwarded, never gated, in every mode.
 */
export type BuiltinRoutes = ReadonlyMap<
  string,
  (req: ProxyRequest) => Response | Promise<Response>
>;

/** What an Ory response observer sees. */
export interface ObservedResponse {
  readonly status: number;
  readonly headers: Headers;
}

/** Injected effects and extensions. */
export interface ProxyHandlerDeps {
  /** Sends requests upstream. Default: the pooled HTTP/1.1 client (`http1/client.ts`). */
  readonly client?: UpstreamClient;
  readonly logger?: Logger;
  /** What is counted for `/metrics`; default: nothing ({@linkcode NO_METRICS}). */
  readonly metrics?: Metrics;
  /** Session → JWT and path protection for application requests. */
  readonly gate?: AppRequestGate;
  /** Exact-path routes served by the proxy. */
  readonly routes?: BuiltinRoutes;
  /** Ends WebSockets and streamed answers with the session they were opened with. */
  readonly followSession?: SessionFollower;
  /**
   * Sees each Ory request before it is sent (with its path below the prefix) and may return
   * a callback for the response, e.g. to notice logouts passing through.
   */
  readonly observeOry?: (
    req: ProxyRequest,
    path: string,
  ) => ((res: ObservedResponse) => void | Promise<void>) | undefined;
}

/**
 * The engine: answers a request; can release its pooled connections. orygate's HTTP/1.1
 * server serves it as it is; the web adapter (`web_adapter.ts`) wraps it for `Deno.serve`.
 */
export interface ProxyEngine {
  (req: ProxyRequest, info?: ClientInfo): Promise<ProxyResult>;
  /** Closes idle upstream connections. */
  close(): void;
}
