/**
 * Rewrites one `Set-Cookie` header value for the publish URL: `Domain` becomes the configured
 * cookie domain or is removed, `Secure` follows the publish scheme, and `SameSite=None`
 * becomes `Lax` on plain http (browsers drop `None` without `Secure`).
 *
 * @example
 * ```ts
 * import { rewriteSetCookie } from "./set_cookie.ts";
 * rewriteSetCookie("ory_session_x=abc; Domain=x.oryapis.com; Secure; SameSite=None", {
 *   secure: false,
 * }); // "ory_session_x=abc; SameSite=Lax"
 * ```
 */

/** How to rewrite cookies. */
export interface SetCookieRewrite {
  /** Domain to set; undefined removes the attribute (a host-only cookie). */
  readonly domain?: string;
  /** Whether the publish URL is https. */
  readonly secure: boolean;
}

/** Returns the rewritten `Set-Cookie` value. */
export function rewriteSetCookie(value: string, options: SetCookieRewrite): string {
  const parts = value.split(";");
  const out: string[] = [parts[0].trim()];
  for (let i = 1; i < parts.length; i++) {
    const attr = parts[i].trim();
    if (attr === "") continue;
    const eq = attr.indexOf("=");
    const name = (eq === -1 ? attr : attr.slice(0, eq)).trim().toLowerCase();
    const val = eq === -1 ? "" : attr.slice(eq + 1).trim();
    switch (name) {
      // Domain and Secure are decided here and appended last, in one order, so that
      // rewriting an already rewritten cookie gives the same text.
      case "domain":
      case "secure":
        continue;
      case "partitioned":
        // Partitioned cookies must be Secure; on plain http the attribute is dropped.
        if (options.secure) out.push(attr);
        continue;
      case "samesite":
        out.push(!options.secure && val.toLowerCase() === "none" ? "SameSite=Lax" : attr);
        continue;
      default:
        out.push(attr);
    }
  }
  if (options.domain !== undefined) out.push(`Domain=${options.domain}`);
  if (options.secure) out.push("Secure");
  return out.join("; ");
}
