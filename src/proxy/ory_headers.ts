/**
 * The headers that steer Ory (Ory Network reads them to rewrite its own URLs). They are
 * set by orygate on requests to Ory only; a client's copies are removed on every route, so
 * nobody can forge them toward Ory, and none of them ever reaches the application.
 *
 * @example
 * ```ts
 * import { ORY_CONTROL_HEADERS } from "./ory_headers.ts";
 * ORY_CONTROL_HEADERS.includes("ory-base-url-rewrite-token"); // true
 * ```
 */
export const ORY_CONTROL_HEADERS: readonly string[] = [
  "ory-no-custom-domain-redirect",
  "ory-base-url-rewrite",
  "ory-base-url-rewrite-token",
  "ory-ratelimit-action",
];

/**
 * The identity headers orygate sets for the application with `--identity-headers`
 * (`session/identity_headers.ts`). A client's copies are removed on every route, with or
 * without the flag, so an application that reads them only ever sees orygate's.
 */
export const ORY_IDENTITY_HEADERS: readonly string[] = [
  "x-ory-identity-id",
  "x-ory-session-id",
  "x-ory-identity-email",
  "x-ory-aal",
];
