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
import type { LocationRewrite } from "../rewrite/location.ts";
import type { UrlMapping } from "../rewrite/url_map.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { DECODABLE_ENCODINGS } from "./decode_body.ts";
import { neutralisesHsts } from "./hsts.ts";
import { modifyResponse } from "./modify_response.ts";
import { createH1Client } from "../http1/client.ts";
import { fromResponse, type ProxyRequest, type ProxyResult, textResult } from "../http1/message.ts";
import type { ClientInfo, ProxyEngine, ProxyHandlerDeps } from "./contracts.ts";
import { canonicalTarget, splitUrl } from "./request_target.ts";
import { buildUpstreamHeaders } from "./upstream_headers.ts";
import { bridgeWebSocket, isWebSocketUpgrade } from "./websocket.ts";

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
  const logAccess = logger.level !== "quiet";
  const ownClient = deps.client === undefined ? createH1Client() : undefined;
  const client = deps.client ?? ownClient!;
  const routes = deps.routes ?? new Map();
  const publish = config.publishUrl;
  const { oryBase, appBase, oryPublicBase, publishOrigin } = config;
  const prefix = config.oryPrefix;
  const oryHost = config.oryUrl.host;
  const appHostHeader = config.rewriteHost ? config.appUrl.host : publish.host;
  const toOry: UrlMapping = { from: oryBase, to: oryPublicBase };
  const toPublish: UrlMapping = { from: appBase, to: publishOrigin };
  // Ory URLs move under the prefix; the app's own URLs move onto the publish origin.
  const mappings = config.mode === "tunnel" ? [toOry] : [toOry, toPublish];
  const rewriteOryBody = createBodyRewriter(mappings);
  const welcome = {
    href: `${oryPublicBase}/ui/welcome`,
    defaultRedirect: config.defaultRedirectUrl.href,
  };
  const cookies = { domain: config.cookieDomain, secure: publish.protocol === "https:" };
  const cors = createCorsPolicy({
    ...config.cors,
    publishOrigin,
    onRefused: (reason) => logger.debug(reason),
  });

  const hsts = neutralisesHsts(publish);
  const finish = (res: ProxyResult, origin: string | null): ProxyResult => {
    cors.apply(res.headers, origin);
    if (hsts) res.headers.set("strict-transport-security", "max-age=0");
    return res;
  };

  const forward = async (
    req: ProxyRequest,
    info: ClientInfo | undefined,
    url: URL,
  ): Promise<{ res: ProxyResult; upstream: UpstreamName | "orygate" }> => {
    const builtin = routes.get(url.pathname);
    if (builtin !== undefined) {
      return { res: fromResponse(await builtin(req)), upstream: "orygate" };
    }

    const isOry = config.mode === "tunnel" || url.pathname === prefix ||
      url.pathname.startsWith(prefix + "/");
    const upstream: UpstreamName = isOry ? "Ory" : "application";
    const path = isOry ? url.pathname.slice(prefix.length) || "/" : url.pathname;
    const target = new URL((isOry ? oryBase : appBase) + path + url.search);
    const headers = buildUpstreamHeaders(req, {
      host: isOry ? oryHost : appHostHeader,
      clientIp: info?.remoteAddr?.hostname,
      publishUrl: publish,
    });

    if (isOry) {
      headers.set("ory-no-custom-domain-redirect", "true");
      headers.set("ory-base-url-rewrite", oryPublicBase);
      if (config.apiKey !== undefined) headers.set("ory-base-url-rewrite-token", config.apiKey);
      if (config.rateLimitAction !== undefined) {
        headers.set("ory-ratelimit-action", config.rateLimitAction);
      }
      headers.set("accept-encoding", decodableEncodings(req.headers.get("accept-encoding")));
    } else if (deps.gate !== undefined) {
      let answer = deps.gate(req, headers, url, info);
      if (answer instanceof Promise) answer = await answer;
      if (answer !== undefined) return { res: fromResponse(answer), upstream: "orygate" };
    }

    const observe = isOry ? deps.observeOry?.(req, path) : undefined;
    // An upgrade carries no body (RFC 9110 §7.8): one that does is forwarded as a plain
    // request, never as a tunnel whose first bytes would be the body.
    const websocket = isWebSocketUpgrade(req) && req.body === null;
    if (websocket && !info?.joinsUpgrades) {
      const res = await bridgeWebSocket(req as Request, {
        url: target,
        headers,
        timeoutMs: config.upstreamTimeoutMs,
        upstream,
      });
      return { res: fromResponse(res), upstream };
    }

    const answer = await client({
      url: target,
      method: req.method,
      headers,
      body: req.body,
      signal: req.signal,
      upstream,
      timeoutMs: config.upstreamTimeoutMs,
      upgrade: websocket ? "websocket" : undefined,
    });
    const location: LocationRewrite = {
      requestUrl: target,
      mappings,
      welcome: isOry ? welcome : undefined,
    };
    const res = await modifyResponse(answer, {
      location,
      cookies,
      rewriteBody: isOry ? rewriteOryBody : undefined,
      maxRewriteBytes: config.maxRewriteBytes,
    });
    if (res.upgraded !== undefined) {
      // Hop-by-hop headers were removed above; these two make the 101 what it is.
      res.headers.set("connection", "upgrade");
      res.headers.set("upgrade", "websocket");
    }
    await observe?.(res);
    return { res, upstream };
  };

  const engine = (async (req: ProxyRequest, info?: ClientInfo): Promise<ProxyResult> => {
    const started = logAccess ? performance.now() : 0;
    const origin = req.headers.get("origin");
    // The one decision about the target (request_target.ts): what is routed, protected and
    // forwarded below is this canonical form, never the raw target.
    const split = splitUrl(req.url);
    let url: URL | undefined;
    let res: ProxyResult;
    let upstream: UpstreamName | "orygate" = "orygate";
    try {
      const decision = canonicalTarget(split.target);
      const tooLarge = checkLimits(req, split.target);
      if (tooLarge !== undefined) {
        res = tooLarge;
      } else if (decision.refused !== undefined) {
        res = textResult(400, `orygate: the request target was refused: ${decision.refused}\n`);
      } else {
        url = new URL(split.origin + decision.path + decision.query);
        if (cors.isPreflight(req)) res = fromResponse(cors.preflight(req));
        else ({ res, upstream } = await forward(req, info, url));
      }
    } catch (err) {
      res = errorResponse(err, req, url?.pathname ?? "", logger);
    }
    if (res.status !== 101) res = finish(res, origin);
    if (logAccess) {
      logger.access(
        `${req.method} ${url?.pathname ?? "(refused target)"} ${res.status} ${
          (performance.now() - started).toFixed(1)
        }ms ${upstream}`,
      );
    }
    return res;
  }) as ProxyEngine;
  engine.close = () => ownClient?.close();
  return engine;
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
  logger: Logger,
): ProxyResult {
  if (req.signal.aborted) {
    // The client went away; nobody reads this answer.
    return { status: 502, statusText: "", headers: new Headers(), body: null };
  }
  if (err instanceof UpstreamError) {
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
