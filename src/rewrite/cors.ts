/**
 * The proxy's own CORS policy. The browser talks to the proxy, so the proxy answers
 * preflights itself and replaces the upstream's `Access-Control-Allow-Origin` and
 * `-Credentials` (two copies of either make browsers reject the response). The upstream's
 * `Access-Control-Expose-Headers` is kept: browsers merge duplicates of it.
 *
 * @example
 * ```ts
 * import { createCorsPolicy } from "./cors.ts";
 * const cors = createCorsPolicy({
 *   origins: ["https://*.example.org"],
 *   anyOrigin: false,
 *   additionalHeaders: [],
 *   publishOrigin: "https://example.org",
 * });
 * cors.isAllowed("https://api.example.org"); // true
 * cors.isAllowed("https://evil.example.com"); // false
 * ```
 */
import type { CorsConfig } from "../config/config.ts";
import { compileOriginMatcher } from "./origin_match.ts";

/** The parts of a request CORS decisions read (a web `Request` is one). */
export interface CorsRequest {
  readonly method: string;
  readonly headers: Headers;
}

/** A compiled CORS policy. */
export interface CorsPolicy {
  /** Whether a request from `origin` may read responses (with credentials). */
  isAllowed(origin: string): boolean;
  /** Whether `req` is a CORS preflight the proxy must answer itself. */
  isPreflight(req: CorsRequest): boolean;
  /** The answer to a preflight. */
  preflight(req: CorsRequest): Response;
  /** Replaces the upstream's CORS headers on a response to a request from `origin`. */
  apply(headers: Headers, origin: string | null): void;
}

const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
// CORS-safelisted request headers plus what Ory's SDKs and typical apps send.
const DEFAULT_ALLOWED_HEADERS = [
  "accept",
  "accept-language",
  "content-language",
  "content-type",
  "range",
  "authorization",
  "cookie",
  "cache-control",
  "x-requested-with",
  "x-session-token",
  "x-csrf-token",
  "x-xsrf-token",
  "x-request-id",
];
const PREFLIGHT_MAX_AGE = "600";

/** Options for {@linkcode createCorsPolicy}. */
export interface CorsPolicyOptions extends CorsConfig {
  /** The publish URL's origin: always allowed. */
  readonly publishOrigin: string;
  /** Called when a preflight is refused, for `--debug` output. */
  readonly onRefused?: (reason: string) => void;
}

/** Compiles the allowed origins (with `*` wildcards) once. */
export function createCorsPolicy(options: CorsPolicyOptions): CorsPolicy {
  const listed = compileOriginMatcher([options.publishOrigin, ...options.origins]);
  const any = options.anyOrigin || options.origins.includes("*");
  const allowedHeaders = new Set([
    ...DEFAULT_ALLOWED_HEADERS,
    ...options.additionalHeaders.map((h) => h.toLowerCase()),
  ]);
  const anyHeader = options.anyOrigin || allowedHeaders.has("*");

  const isAllowed = (origin: string): boolean => {
    if (origin === "null") return any;
    return any || listed(origin);
  };

  return {
    isAllowed,
    isPreflight: (req) =>
      req.method === "OPTIONS" && req.headers.has("origin") &&
      req.headers.has("access-control-request-method"),
    preflight(req) {
      const origin = req.headers.get("origin") ?? "";
      const headers = new Headers({
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
      if (!isAllowed(origin)) {
        options.onRefused?.(`CORS preflight from ${origin} refused: origin not allowed`);
        return new Response(null, { status: 204, headers });
      }
      const requested = (req.headers.get("access-control-request-headers") ?? "")
        .split(",").map((h) => h.trim().toLowerCase()).filter((h) => h);
      const refused = anyHeader ? [] : requested.filter((h) => !allowedHeaders.has(h));
      if (refused.length > 0) {
        options.onRefused?.(
          `CORS preflight from ${origin} asked for header(s) ${refused.join(", ")}: ` +
            `allow them with --additional-cors-headers`,
        );
      }
      headers.set("access-control-allow-origin", origin);
      headers.set("access-control-allow-credentials", "true");
      headers.set("access-control-allow-methods", ALLOWED_METHODS);
      const allowed = anyHeader ? requested : requested.filter((h) => allowedHeaders.has(h));
      if (allowed.length > 0) headers.set("access-control-allow-headers", allowed.join(", "));
      headers.set("access-control-max-age", PREFLIGHT_MAX_AGE);
      return new Response(null, { status: 204, headers });
    },
    apply(headers, origin) {
      headers.delete("access-control-allow-origin");
      headers.delete("access-control-allow-credentials");
      if (origin === null) return;
      headers.append("vary", "Origin");
      if (!isAllowed(origin)) return;
      headers.set("access-control-allow-origin", origin);
      headers.set("access-control-allow-credentials", "true");
    },
  };
}
