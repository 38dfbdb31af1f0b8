/**
 * `--identity-headers`: who an active session belongs to, as plain headers for applications
 * that cannot verify a JWT: `X-Ory-Identity-Id`, `X-Ory-Session-Id`, `X-Ory-Identity-Email`
 * (the first verified email address, else the first email address, else `traits.email`: see
 * `session_fields.ts`) and `X-Ory-Aal`. A value that is
 * absent, or not visible ASCII (a header cannot carry it unambiguously), is left out. The
 * client's own copies never get this far (`proxy/upstream_headers.ts` drops them).
 *
 * @example
 * ```ts
 * import { identityHeaders } from "./identity_headers.ts";
 * identityHeaders({ id: "s1", identity: { id: "i1" }, authenticator_assurance_level: "aal1" });
 * // [["x-ory-identity-id", "i1"], ["x-ory-session-id", "s1"], ["x-ory-aal", "aal1"]]
 * ```
 */
import type { OrySession } from "../jwt/mint.ts";
import { assuranceLevel, identityEmail } from "./session_fields.ts";

/** Visible ASCII, spaces only inside: what every parser reads back as it was sent. */
const PLAIN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** The identity headers for `session`, as name/value pairs (built once per cached session). */
export function identityHeaders(session: OrySession): readonly (readonly [string, string])[] {
  const pairs: [string, unknown][] = [
    ["x-ory-identity-id", session.identity?.id],
    ["x-ory-session-id", session.id],
    ["x-ory-identity-email", identityEmail(session)],
    ["x-ory-aal", assuranceLevel(session)],
  ];
  return pairs.filter((p): p is [string, string] => typeof p[1] === "string" && PLAIN.test(p[1]));
}
