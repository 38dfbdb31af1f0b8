/**
 * The engine: one request handler for `proxy`, `tunnel` and `proxy local`. Routing and
 * policy decide what to send; the upstream client (`http1/upstream.ts`) sends it; the
 * response is modified on the way back. Its contracts (the gate, built-in routes, the Ory
 * observer) are in `contracts.ts`.
 *
 * The engine works on {@linkcode ProxyRequest}/{@linkcode ProxyResult} (`http1/message.ts`),
 * which orygate's own HTTP/1.1 server produces and consumes without building web objects;
 * `web_adapter.ts` wraps it as a web handler (`Request` → `Response`) for `Deno.serve` and
 * embedding programs.
 *
 * @example
 * ```ts ignore
 * import { createProxyEngine } from "./handler.ts";
 * const engine = createProxyEngine(config, { client, gate, routes });
 * const result = await engine(new Request("http://localhost:4000/.ory/health/alive"));
 * ```
 */
import type { Config } from "../config/config.ts";
import { OrygateError, UpstreamError, type UpstreamName } from "../errors.ts";
import { createBodyRewriter } from "../rewrite/body.ts";
import { createCorsPolicy } from "../rewrite/cors.ts";
import type { UrlMapping } from "../rewrite/url_map.ts";
import { type AccessEntry, createLogger, type Logger } from "../log/logger.ts";
import { type Metrics, NO_METRICS, type RouteLabel } from "../metrics/metrics.ts";
import { countUpstreamError } from "../metrics/upstream_error_kind.ts";
import { DECODABLE_ENCODINGS } from "./decode_body.ts";
import { neutralisesHsts } from "./hsts.ts";
import { modifyResponse, type ModifyResponseOptions } from "./modify_response.ts";
import { createH1Client } from "../http1/client.ts";
import { fromResponse, type ProxyRequest, type ProxyResult, textResult } from "../http1/message.ts";
import type {
  AdmittedSession,
  ClientInfo,
  GateFacts,
  ProxyEngine,
  ProxyHandlerDeps,
  SessionFollower,
} from "./contracts.ts";
import { requestIdOf } from "./request_id.ts";
import { canonicalTarget, splitUrl } from "./request_target.ts";
import { buildUpstreamHeaders } from "./upstream_headers.ts";
import { bridgeWebSocket, isWebSocketUpgrade } from "./websocket.ts";
import { SessionBody } from "./session_body.ts";
import { SessionTunnel } from "./session_tunnel.ts";
import type { UpstreamClient } from "../http1/upstream.ts";

/** Largest request head the proxy forwards (all header names and values), in bytes. */
export const MAX_HEADER_BYTES = 32 * 1024;
/** Most request header fields the proxy forwards. */
export const MAX_HEADER_COUNT = 100;
/** Longest request target (path and query) the proxy forwards, in bytes. */
export const MAX_TARGET_BYTES = 8 * 1024;

/** Returns a 431/414 answer when the request head is over the limits, else undefined. */
function checkLimits(req: ProxyRequest, target: string): ProxyResult | undefined {
  if (target.length > MAX_TARGET_BYTES) {
    return textResult(414, "orygate: the request URL is too long\n");
  }
  let bytes = 0;
  let count = 0;
  req.headers.forEach((value, name) => {
    bytes += name.length + value.length + 4;
    count++;
  });
  if (count > MAX_HEADER_COUNT || bytes > MAX_HEADER_BYTES) {
    return textResult(431, "orygate: the request headers are too large\n");
  }
  // Repeated Content-Length headers arrive joined ("5, 5"): never forward an ambiguous length.
  const length = req.headers.get("content-length");
  if (length !== null && !/^\d+$/.test(length)) {
    return textResult(400, "orygate: invalid Content-Length\n");
  }
  return undefined;
}

/** Creates the engine for `config`. */
export function createProxyEngine(config: Config, deps: ProxyHandlerDeps = {}): ProxyEngine {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const metrics = deps.metrics ?? NO_METRICS;
  const logAccess = logger.level !== "quiet";
  // Timing and the after-write callback cost something per request: only when someone reads.
  const timed = logAccess || metrics.enabled;
  const ownClient = deps.client === undefined ? createH1Client() : undefined;
  const forward = createForwarder(config, { ...deps, client: deps.client ?? ownClient! });
  const cors = createCorsPolicy({
    ...config.cors,
    publishOrigin: config.publishOrigin,
    onRefused: (reason) => logger.debug(reason),
  });
  const hsts = neutralisesHsts(config.publishUrl);

  const engine = (async (req: ProxyRequest, info?: ClientInfo): Promise<ProxyResult> => {
    const started = timed ? performance.now() : 0;
    const origin = req.headers.get("origin");
    const facts: RequestFacts = {
      requestId: requestIdOf(req.headers),
      route: "builtin",
      answeredBy: "orygate",
      identityId: undefined,
      session: undefined,
    };
    let url: URL | undefined;
    let res: ProxyResult;
    try {
      const decided = decideTarget(req);
      if (decided instanceof URL) {
        url = decided;
        if (cors.isPreflight(req)) res = fromResponse(cors.preflight(req));
        else res = await forward(req, info, url, facts);
      } else {
        res = decided;
      }
    } catch (err) {
      res = errorResponse(err, req, url?.pathname ?? "", { logger, metrics });
    }
    if (res.status !== 101) {
      cors.apply(res.headers, origin);
      if (hsts) res.headers.set("strict-transport-security", "max-age=0");
      res.headers.set("x-request-id", facts.requestId);
    }
    if (timed) {
      const durationMs = performance.now() - started;
      metrics.request(facts.route, req.method, res.status, durationMs / 1000);
      // Only for the access line: a closure and a new property per request cost ~10 % of
      // req/s under load (a) when they were set for metrics alone.
      if (logAccess) {
        res.onFinished = accessLineWhenFinished(logger, {
          method: req.method,
          path: url?.pathname ?? "(refused target)",
          status: res.status,
          durationMs,
          route: facts.route,
          answeredBy: facts.answeredBy,
          bytesOut: 0,
          remoteAddr: info?.remoteAddr?.hostname,
          requestId: facts.requestId,
          identityId: facts.identityId,
        });
      }
    }
    return res;
  }) as ProxyEngine;
  engine.close = () => ownClient?.close();
  return engine;
}

/**
 * The result's `onFinished` for the access line, made here and not inside the engine: a
 * closure there captures the engine's async frame (the request, the result, the client info)
 * and kept it reachable after the answer was out. Under load (a) V8 then promoted ~4 KiB per
 * request to the old generation, 9–16 full collections in 8 s instead of 2–3, and the access
 * log cost 2–4 µs of CPU per request; capturing only this entry, ~0.3 µs
 * (docs/performance.md, issue 16).
 */
function accessLineWhenFinished(
  logger: Logger,
  entry: { -readonly [K in keyof AccessEntry]: AccessEntry[K] },
): (bytesOut: number) => void {
  return (bytesOut) => {
    entry.bytesOut = bytesOut;
    logger.access(entry);
  };
}

/** What the engine learns about one request on its way, for metrics and the access line. */
interface RequestFacts extends GateFacts {
  /** The client's valid `X-Request-Id`, or a new one. */
  readonly requestId: string;
  route: RouteLabel;
  /** Who answered, in words: the upstream's name, or `orygate`. */
  answeredBy: string;
}

/**
 * What happens to a request whose target is decided and which is not a preflight: a built-in
 * route answers it, or it is routed to Ory or the application (where the gate may answer
 * instead), sent, and its answer modified for the publish URL.
 */
function createForwarder(
  config: Config,
  deps: ProxyHandlerDeps & { readonly client: UpstreamClient },
): (
  req: ProxyRequest,
  info: ClientInfo | undefined,
  url: URL,
  facts: RequestFacts,
) => Promise<ProxyResult> {
  const { client, gate, observeOry, followSession } = deps;
  const routes = deps.routes ?? new Map();
  const routeOf = createRouter(config);
  const rewriteFor = createResponseRewrites(config);
  const timeoutMs = config.upstreamTimeoutMs;

  return async (req, info, url, facts) => {
    const builtin = routes.get(url.pathname);
    if (builtin !== undefined) return fromResponse(await builtin(req));

    const route = routeOf(url);
    const { upstream, target } = route;
    facts.route = route.isOry ? "ory" : "app";
    const headers = buildUpstreamHeaders(req, {
      host: route.host,
      clientIp: info?.remoteAddr?.hostname,
      publishUrl: config.publishUrl,
      requestId: facts.requestId,
    });
    if (route.isOry) {
      setOryHeaders(headers, req, config);
    } else if (gate !== undefined) {
      let answer = gate(req, headers, url, info, facts);
      if (answer instanceof Promise) answer = await answer;
      if (answer !== undefined) return fromResponse(answer);
    }
    facts.answeredBy = upstream;

    const observe = route.isOry ? observeOry?.(req, route.path) : undefined;
    // An upgrade carries no body (RFC 9110 §7.8): one that does is forwarded as a plain
    // request, never as a tunnel whose first bytes would be the body.
    const websocket = isWebSocketUpgrade(req) && req.body === null;
    // Only the gate sets `facts.session`: app requests with an active session.
    const session = followSession && facts.session;
    if (websocket && !info?.joinsUpgrades) {
      const res = await bridgeWebSocket(req as Request, {
        url: target,
        headers,
        timeoutMs,
        upstream,
        follow: session ? (end) => followSession!(session, req, end) : undefined,
      });
      return fromResponse(res);
    }

    const answer = await client({
      url: target,
      method: req.method,
      headers,
      body: req.body,
      signal: req.signal,
      upstream,
      timeoutMs,
      upgrade: websocket ? "websocket" : undefined,
    });
    const res = await modifyResponse(answer, rewriteFor(route));
    if (res.upgraded !== undefined) {
      // Hop-by-hop headers were removed above; these two make the 101 what it is.
      res.headers.set("connection", "upgrade");
      res.headers.set("upgrade", "websocket");
    }
    await observe?.(res);
    return session ? endingWithSession(res, session, req, followSession!) : res;
  };
}

/**
 * A WebSocket tunnel or a body still streaming, sent to a request with an active session,
 * ends when the session does; anything else is over already and is returned as it is.
 */
function endingWithSession(
  res: ProxyResult,
  session: AdmittedSession,
  req: ProxyRequest,
  follow: SessionFollower,
): ProxyResult {
  if (res.upgraded !== undefined) {
    const tunnel = new SessionTunnel(res.upgraded);
    tunnel.onClosed = follow(session, req, () => tunnel.end());
    return { ...res, upgraded: tunnel.upgraded };
  }
  if (res.body instanceof ReadableStream) {
    const body = new SessionBody(res.body);
    body.onClosed = follow(session, req, () => body.end());
    return { ...res, body: body.stream };
  }
  return res;
}

/**
 * The one decision about the target (`request_target.ts`): the URL in canonical form, which
 * is what is routed, protected and forwarded from here on (never the raw target), or the
 * answer that refuses the request (400, or 414/431 over the limits).
 */
function decideTarget(req: ProxyRequest): URL | ProxyResult {
  const split = splitUrl(req.url);
  const decision = canonicalTarget(split.target);
  const tooLarge = checkLimits(req, split.target);
  if (tooLarge !== undefined) return tooLarge;
  if (decision.refused !== undefined) {
    return textResult(400, `orygate: the request target was refused: ${decision.refused}\n`);
  }
  return new URL(split.origin + decision.path + decision.query);
}

/** Where a request that is not a built-in route goes. */
interface Route {
  /** Ory (`/.ory/*` in the proxy, everything in the tunnel), or else the application. */
  readonly isOry: boolean;
  readonly upstream: UpstreamName;
  /** The path the upstream sees: for Ory, the part below the prefix. */
  readonly path: string;
  /** The upstream URL: its base, the path, the query. */
  readonly target: URL;
  /** The `Host` header it gets. */
  readonly host: string;
}

/** Routes canonical URLs: Ory under the prefix (at the root in the tunnel), else the app. */
function createRouter(config: Config): (url: URL) => Route {
  const { oryBase, appBase, oryPrefix: prefix } = config;
  const oryHost = config.oryUrl.host;
  const appHost = config.rewriteHost ? config.appUrl.host : config.publishUrl.host;
  const tunnel = config.mode === "tunnel";
  return (url) => {
    const { pathname } = url;
    if (tunnel || pathname === prefix || pathname.startsWith(prefix + "/")) {
      const path = pathname.slice(prefix.length) || "/";
      const target = new URL(oryBase + path + url.search);
      return { isOry: true, upstream: "Ory", path, target, host: oryHost };
    }
    const target = new URL(appBase + pathname + url.search);
    return { isOry: false, upstream: "application", path: pathname, target, host: appHost };
  };
}

/** Ory's control headers: its base URL on the publish side, the API key, encodings we undo. */
function setOryHeaders(headers: Headers, req: ProxyRequest, config: Config): void {
  headers.set("ory-no-custom-domain-redirect", "true");
  headers.set("ory-base-url-rewrite", config.oryPublicBase);
  if (config.apiKey !== undefined) headers.set("ory-base-url-rewrite-token", config.apiKey);
  if (config.rateLimitAction !== undefined) {
    headers.set("ory-ratelimit-action", config.rateLimitAction);
  }
  headers.set("accept-encoding", decodableEncodings(req.headers.get("accept-encoding")));
}

/**
 * What {@linkcode modifyResponse} does to a route's answer: Ory's URLs move under the prefix
 * and the app's own onto the publish origin (in `Location` and Ory's text bodies), cookies
 * move to the publish host, and Ory's welcome redirect goes to the default redirect URL.
 */
function createResponseRewrites(config: Config): (route: Route) => ModifyResponseOptions {
  const toOry: UrlMapping = { from: config.oryBase, to: config.oryPublicBase };
  const toPublish: UrlMapping = { from: config.appBase, to: config.publishOrigin };
  const mappings = config.mode === "tunnel" ? [toOry] : [toOry, toPublish];
  const rewriteOryBody = createBodyRewriter(mappings);
  const welcome = {
    href: `${config.oryPublicBase}/ui/welcome`,
    defaultRedirect: config.defaultRedirectUrl.href,
  };
  const cookies = {
    domain: config.cookieDomain,
    secure: config.publishUrl.protocol === "https:",
  };
  const { maxRewriteBytes } = config;
  return (route) => ({
    location: {
      requestUrl: route.target,
      mappings,
      welcome: route.isOry ? welcome : undefined,
    },
    cookies,
    rewriteBody: route.isOry ? rewriteOryBody : undefined,
    maxRewriteBytes,
  });
}

/** Keeps only the codings the proxy can undo to rewrite Ory's bodies. */
function decodableEncodings(acceptEncoding: string | null): string {
  const accepted = (acceptEncoding ?? "").split(",").map((c) =>
    c.split(";")[0].trim().toLowerCase()
  );
  const both = DECODABLE_ENCODINGS.filter((c) => accepted.includes(c) || accepted.includes("*"));
  return both.length > 0 ? both.join(", ") : "identity";
}

function errorResponse(
  err: unknown,
  req: ProxyRequest,
  path: string,
  effects: { readonly logger: Logger; readonly metrics: Metrics },
): ProxyResult {
  const { logger } = effects;
  if (req.signal.aborted) {
    // The client went away; nobody reads this answer.
    return { status: 502, statusText: "", headers: new Headers(), body: null };
  }
  if (err instanceof UpstreamError) {
    countUpstreamError(err, effects.metrics);
    logger.error(`${req.method} ${path}: ${err.message}`);
    return textResult(err.status, `orygate: ${err.message}\n`);
  }
  if (err instanceof OrygateError && err.code === "ERR_BODY_TOO_LARGE") {
    logger.error(`${req.method} ${path}: Ory's response: ${err.message}`);
    return textResult(502, `orygate: Ory's response could not be rewritten: ${err.message}\n`);
  }
  const message = err instanceof Error ? err.message : String(err);
  logger.error(`${req.method} ${path}: ${message}`);
  return textResult(502, "orygate: the upstream's response could not be handled\n");
}
