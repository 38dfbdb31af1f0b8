/**
 * Names why a `fetch` failed. Deno's `fetch` rejects with `TypeError: fetch failed` and keeps
 * the reason in `cause` ("error sending request for url (…): client error (Connect): tcp
 * connect error: Connection refused (os error 111)"); a timeout signal rejects with a
 * `TimeoutError`. This turns those into the words a user acts on: DNS failure, connection
 * refused, TLS error, timeout.
 *
 * @example
 * ```ts
 * import { describeFetchError } from "./fetch_error.ts";
 * const err = await fetch("http://127.0.0.1:9/").catch((e) => e);
 * describeFetchError(err); // "Requests to port 9 are blocked" (Deno refuses well-known ports)
 * ```
 */

/** Reads like "connection refused", "DNS failure (…)", "TLS error (…)", "timeout after 5s". */
export function describeFetchError(err: unknown, options: { timeoutMs?: number } = {}): string {
  if (err instanceof DOMException && err.name === "TimeoutError") {
    return options.timeoutMs === undefined
      ? "timeout: no answer in time"
      : `timeout: no answer within ${formatSeconds(options.timeoutMs)}`;
  }
  const detail = innermostMessage(err)
    .replace(/^Fetch failed: /, "")
    .replace(/^error sending request .*?: client error \(\w+\): /s, "")
    .replace(/^error sending request .*?\): /s, "")
    .trim();
  if (
    /dns error|failed to lookup address|name or service not known|nodename nor servname|no such host/i
      .test(detail)
  ) {
    return `DNS failure (${detail.replace(/^dns error: /, "")})`;
  }
  if (/connection refused/i.test(detail)) return "connection refused";
  if (/timed out/i.test(detail)) return `timeout (${detail})`;
  if (/certificate|tls|handshake|InvalidContentType|alert|peer sent/i.test(detail)) {
    return `TLS error (${detail})`;
  }
  if (/connection reset/i.test(detail)) return "connection reset";
  if (/connection closed before message completed/i.test(detail)) {
    return "the connection closed before an answer";
  }
  return detail || "unknown error";
}

/** The message of the last error in the `cause` chain that says more than "fetch failed". */
function innermostMessage(err: unknown): string {
  let message = "";
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (text && !/^fetch failed$/i.test(text)) message = text;
    e = e instanceof Error ? e.cause : undefined;
  }
  return message;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
