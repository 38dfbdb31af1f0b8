/**
 * Sorts an upstream failure into the `kind` label of `orygate_upstream_errors_total`:
 * `connect` (nothing accepted the connection), `timeout` (no response head in time), `reset`
 * (the connection was reset or closed before the answer was complete), `protocol` (the
 * answer was not valid HTTP/1.1).
 *
 * @example
 * ```ts
 * import { UpstreamError } from "../errors.ts";
 * import { upstreamErrorKind } from "./upstream_error_kind.ts";
 * upstreamErrorKind(new UpstreamError("ERR_UPSTREAM_TIMEOUT", "Ory", "no answer")); // "timeout"
 * ```
 *
 * @module
 */
import { UpstreamError } from "../errors.ts";
import type { Metrics, UpstreamErrorKind } from "./metrics.ts";

/** What the HTTP/1.1 client says when a connection ended under a request or a response. */
const DROPPED = /closed the (connection|response)|connection reset|broken pipe|unexpected ?eof/i;

/** The kind of one upstream failure. */
export function upstreamErrorKind(err: UpstreamError): UpstreamErrorKind {
  if (err.code === "ERR_UPSTREAM_UNREACHABLE") return "connect";
  if (err.code === "ERR_UPSTREAM_TIMEOUT") return "timeout";
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (
      e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
      e instanceof Deno.errors.UnexpectedEof || e instanceof Deno.errors.ConnectionAborted ||
      DROPPED.test(e.message)
    ) return "reset";
    e = e.cause;
  }
  return "protocol";
}

/**
 * Counts `err` when it is an upstream failure (before the response head, or raised by a
 * response body mid-way); anything else (a client gone) is not the upstream's.
 */
export function countUpstreamError(err: unknown, metrics: Pick<Metrics, "upstreamError">): void {
  if (!(err instanceof UpstreamError)) return;
  metrics.upstreamError(err.upstream === "Ory" ? "ory" : "app", upstreamErrorKind(err));
}
