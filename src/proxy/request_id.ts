/**
 * The request ID: a client's (or a load balancer's) `X-Request-Id` when it is 1–128 visible
 * ASCII characters, else a new UUID. The engine sends it to the application and to Ory,
 * returns it on the response and logs it, so one request can be followed through all three.
 *
 * @example
 * ```ts
 * import { requestIdOf } from "./request_id.ts";
 * requestIdOf(new Headers({ "x-request-id": "abc-123" })); // "abc-123"
 * requestIdOf(new Headers({ "x-request-id": "has space" })).length; // 36 (a UUID)
 * ```
 *
 * @module
 */

/** Visible ASCII (0x21–0x7E), 1 to 128 of them: what may be echoed into logs and headers. */
const VALID_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The request's ID: the client's when valid, else a fresh UUID. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given !== null && VALID_REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
