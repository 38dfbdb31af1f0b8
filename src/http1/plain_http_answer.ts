/**
 * The answer to plain HTTP sent to an HTTPS port, built from the request's first bytes: the way
 * nginx (497) and Go's server ("Client sent an HTTP request to an HTTPS server") do, but one a
 * person can act on. GET and HEAD get a temporary redirect to the same path on the https origin
 * (a browser simply follows it); other methods get a 400 that names the https URL. Bytes that
 * do not start like an HTTP request get no answer.
 *
 * @example
 * ```ts
 * import { plainHttpAnswer } from "./plain_http_answer.ts";
 * const request = new TextEncoder().encode("GET /members?x=1 HTTP/1.1\r\nHost: localhost:4000\r\n\r\n");
 * const answer = new TextDecoder().decode(plainHttpAnswer(request, "https://localhost:4000"));
 * answer.startsWith("HTTP/1.1 307 Temporary Redirect\r\n"); // true
 * answer.includes("\r\nLocation: https://localhost:4000/members?x=1\r\n"); // true
 * ```
 */

/** Most target bytes carried into the redirect; a longer target redirects to `/`. */
const MAX_TARGET = 8 * 1024;

/** `METHOD SP request-target SP` at the start, as RFC 9112 §3 has it. */
const REQUEST_LINE = /^([A-Z]{1,20}) ([\x21-\x7e]+)(?: |\r?\n|$)/;

/**
 * Returns the whole HTTP/1.1 response (head and body) for a plain-HTTP request whose first bytes
 * are `firstBytes`, or undefined when they do not look like HTTP at all. The `Location` is always
 * `httpsOrigin` plus a path: never a host the client named.
 */
export function plainHttpAnswer(
  firstBytes: Uint8Array,
  httpsOrigin: string,
): Uint8Array | undefined {
  // latin1 keeps one character per byte, so nothing is lost or merged before the checks.
  const start = new TextDecoder("latin1").decode(firstBytes.subarray(0, MAX_TARGET + 64));
  const match = REQUEST_LINE.exec(start);
  if (!match) return undefined;
  const [, method, target] = match;
  const url = `${httpsOrigin}${pathOf(target)}`;
  const redirect = method === "GET" || method === "HEAD";
  const body = redirect
    ? `This port speaks HTTPS: use ${url}\n`
    : `Client sent an HTTP request to an HTTPS server: use ${url}\n`;
  const bodyBytes = new TextEncoder().encode(body);
  const head = (redirect ? "HTTP/1.1 307 Temporary Redirect\r\n" : "HTTP/1.1 400 Bad Request\r\n") +
    (redirect ? `Location: ${url}\r\n` : "") +
    "Content-Type: text/plain; charset=utf-8\r\n" +
    `Content-Length: ${bodyBytes.length}\r\n` +
    "Cache-Control: no-store\r\n" +
    "Connection: close\r\n\r\n";
  const headBytes = new TextEncoder().encode(head);
  if (method === "HEAD") return headBytes;
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  return out;
}

/** The path and query of an origin-form or absolute-form target; `/` for anything else. */
function pathOf(target: string): string {
  if (target.length > MAX_TARGET) return "/";
  if (target.startsWith("/")) return target;
  if (/^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      return url.pathname + url.search;
    } catch {
      return "/";
    }
  }
  return "/";
}
