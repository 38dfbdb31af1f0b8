/**
 * orygate's small error family. Every error carries a stable `code`; user mistakes are
 * {@linkcode ConfigError}s (exit status 2, one line), upstream trouble is an
 * {@linkcode UpstreamError} (502/504 with a short body naming the upstream).
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * const err = new ConfigError('Cannot parse --port: "abc" is not a number');
 * console.log(err.code); // "ERR_CONFIG"
 * ```
 */

/** Stable error codes. */
export type ErrorCode =
  | "ERR_CONFIG"
  | "ERR_UPSTREAM_UNREACHABLE"
  | "ERR_UPSTREAM_TIMEOUT"
  | "ERR_UPSTREAM_PROTOCOL"
  | "ERR_BODY_TOO_LARGE";

/** Base class of every error orygate raises on purpose. */
export class OrygateError extends Error {
  /** A stable, machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A mistake in flags, environment or arguments: shown as one line, exit status 2. */
export class ConfigError extends OrygateError {
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_CONFIG", message, options);
  }
}

/** Which upstream a request was bound for. */
export type UpstreamName = "application" | "Ory";

/** An upstream could not be reached, did not answer in time, or answered unusably. */
export class UpstreamError extends OrygateError {
  /** The upstream that failed. */
  readonly upstream: UpstreamName;
  /** The HTTP status the proxy answers with: 502 or 504. */
  readonly status: 502 | 504;

  constructor(
    code: Exclude<ErrorCode, "ERR_CONFIG">,
    upstream: UpstreamName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.upstream = upstream;
    this.status = code === "ERR_UPSTREAM_TIMEOUT" ? 504 : 502;
  }
}
