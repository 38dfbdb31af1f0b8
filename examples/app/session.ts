/**
 * Reads the signed-in user from the JWT that orygate puts in `Authorization: Bearer`, verified
 * against orygate's public keys at `<ORY_URL>/jwks.json`. The app never trusts the header alone.
 *
 * @module
 */

import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";

/** The claims orygate signs: standard ones plus the whole Ory session. */
export interface SessionClaims extends JWTPayload {
  session?: {
    id?: string;
    /** `aal1` (one factor) or `aal2` (a second factor, e.g. TOTP, in this session). */
    authenticator_assurance_level?: string;
    identity?: {
      id?: string;
      traits?: { email?: string };
      verifiable_addresses?: { value?: string; via?: string; verified?: boolean }[];
      metadata_public?: unknown;
    };
  };
}

/** Verifies a request's bearer JWT; resolves to its claims, or `null` when absent or invalid. */
export type SessionVerifier = (request: Request) => Promise<SessionClaims | null>;

/**
 * Creates a {@link SessionVerifier} that fetches (and caches) the keys at `jwksUrl`.
 *
 * @example
 * ```ts ignore
 * const verify = createSessionVerifier("http://localhost:4455/.ory/jwks.json");
 * const claims = await verify(request);
 * console.log(claims?.session?.identity?.traits?.email);
 * ```
 */
export function createSessionVerifier(
  jwksUrl: string,
  options: { onError?: (error: unknown) => void } = {},
): SessionVerifier {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return async (request) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
    if (!match) return null;
    try {
      const { payload } = await jwtVerify<SessionClaims>(match[1], keys, {
        algorithms: ["ES256"],
        clockTolerance: 5,
      });
      return payload;
    } catch (error) {
      options.onError?.(error);
      return null;
    }
  };
}

/** The signed-in identity's email, if the claims carry one. */
export function emailOf(claims: SessionClaims | null): string | undefined {
  return claims?.session?.identity?.traits?.email;
}

/** Whether the identity has a verified email address. */
export function hasVerifiedEmail(claims: SessionClaims | null): boolean {
  return (claims?.session?.identity?.verifiable_addresses ?? []).some((a) =>
    a.via === "email" && a.verified === true
  );
}

/**
 * Creates a {@link SessionVerifier} for apps behind `orygate tunnel`, where no JWT arrives:
 * it asks Ory (through the tunnel) who the browser's session cookie belongs to.
 *
 * @example
 * ```ts ignore
 * const verify = createWhoamiVerifier("http://localhost:4000");
 * const claims = await verify(request);
 * ```
 */
export function createWhoamiVerifier(
  oryUrl: string,
  options: { fetch?: typeof fetch } = {},
): SessionVerifier {
  const fetchFn = options.fetch ?? fetch;
  return async (request) => {
    const cookie = request.headers.get("cookie");
    if (!cookie) return null;
    const res = await fetchFn(`${oryUrl}/sessions/whoami`, {
      headers: { cookie, accept: "application/json" },
    });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    const session = await res.json() as SessionClaims["session"] & { active?: boolean };
    if (session?.active !== true) return null;
    return { sub: session.identity?.id, session };
  };
}
