/**
 * Finds the Ory credentials a request carries: session cookies (`ory_session_*`,
 * `ory_kratos_session`), an `X-Session-Token`, or `Authorization: Bearer <token>`. The cache
 * key is a SHA-256 hash of exactly those, so the raw secret is never kept as a key.
 *
 * @example
 * ```ts
 * import { extractCredentials } from "./credentials.ts";
 * const cred = extractCredentials(new Headers({ cookie: "a=1; ory_kratos_session=s3cr3t" }));
 * console.log(cred?.cookie); // "ory_kratos_session=s3cr3t"
 * ```
 */
import { createHash } from "node:crypto";

/** The credential parts sent to Ory's whoami, and the hashed cache key. */
export interface Credentials {
  /** Only Ory's own session cookies, as a `Cookie` header value. */
  readonly cookie?: string;
  readonly sessionToken?: string;
  /** The full `Authorization` header value (a Bearer token). */
  readonly authorization?: string;
  /** Hex SHA-256 over all of the above. */
  readonly key: string;
}

/** Whether a cookie name is one of Ory's session cookies. */
export function isOrySessionCookie(name: string): boolean {
  return name === "ory_kratos_session" || name.startsWith("ory_session_");
}

/** Returns the request's Ory credentials, or undefined when it carries none. */
export function extractCredentials(headers: Headers): Credentials | undefined {
  const cookies = (headers.get("cookie") ?? "").split(";")
    .map((c) => c.trim())
    .filter((c) => {
      const eq = c.indexOf("=");
      return eq > 0 && isOrySessionCookie(c.slice(0, eq).trim()) && c.length > eq + 1;
    })
    .sort();
  const cookie = cookies.length > 0 ? cookies.join("; ") : undefined;
  const sessionToken = headers.get("x-session-token")?.trim() || undefined;
  const auth = headers.get("authorization")?.trim();
  const authorization = auth && /^bearer\s+\S+$/i.test(auth) ? auth : undefined;
  if (cookie === undefined && sessionToken === undefined && authorization === undefined) {
    return undefined;
  }
  const material = `c:${cookie ?? ""}\nt:${sessionToken ?? ""}\na:${authorization ?? ""}`;
  // Synchronous on purpose: WebCrypto's digest is an async op costing ~23 µs here, more than
  // the rest of a session request; node:crypto's hash is ~1.4 µs.
  const key = createHash("sha256").update(material).digest("hex");
  return { cookie, sessionToken, authorization, key };
}
