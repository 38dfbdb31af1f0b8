/**
 * Mints the JWT the application receives for an active Ory session: ES256 with `kid`;
 * claims `iss`, `sub` (identity id), `session`, `iat`, `nbf`, `exp`, `jti`. `exp` never
 * outlives the session's own `expires_at`.
 *
 * @example
 * ```ts
 * import { generateSigningKey } from "./keys.ts";
 * import { createMinter } from "./mint.ts";
 * const mint = createMinter({ key: await generateSigningKey(), issuer: "https://x.projects.oryapis.com", ttlSeconds: 60 });
 * const { token } = await mint({ id: "s1", active: true, identity: { id: "i1" } }, undefined);
 * console.log(token.split(".").length); // 3
 * ```
 */
import { SignJWT } from "jose";
import type { SigningKey } from "./keys.ts";

/** Minter settings. */
export interface MinterOptions {
  readonly key: SigningKey;
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/** A minted token and when it expires (ms since the epoch). */
export interface MintedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/** An Ory session as far as minting cares. */
export interface OrySession {
  readonly id?: string;
  readonly active?: boolean;
  readonly expires_at?: string;
  readonly identity?: { readonly id?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

/** Returns `mint(session, sessionExpiresAt)`. */
export function createMinter(
  options: MinterOptions,
): (session: OrySession, sessionExpiresAt: number | undefined) => Promise<MintedToken> {
  const now = options.now ?? Date.now;
  return async (session, sessionExpiresAt) => {
    const nowMs = now();
    const iat = Math.floor(nowMs / 1000);
    let exp = iat + options.ttlSeconds;
    if (sessionExpiresAt !== undefined) exp = Math.min(exp, Math.floor(sessionExpiresAt / 1000));
    const token = await new SignJWT({ session })
      .setProtectedHeader({ alg: "ES256", kid: options.key.kid, typ: "JWT" })
      .setIssuer(options.issuer)
      .setSubject(String(session.identity?.id ?? ""))
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(options.key.privateKey);
    return { token, expiresAt: exp * 1000 };
  };
}
