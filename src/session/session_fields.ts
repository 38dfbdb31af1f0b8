/**
 * Reads the fields of an Ory session that access rules and identity headers use. The session
 * is whatever JSON Ory answered, so every field is checked for its type here, once: a field
 * of the wrong type reads as absent, never as a match.
 *
 * @example
 * ```ts
 * import { assuranceLevel, hasVerifiedEmail, identityEmail } from "./session_fields.ts";
 * const session = {
 *   id: "s1",
 *   authenticator_assurance_level: "aal2",
 *   identity: {
 *     id: "i1",
 *     traits: { email: "a@example.com" },
 *     verifiable_addresses: [{ via: "email", value: "a@example.com", verified: true }],
 *   },
 * };
 * assuranceLevel(session); // "aal2"
 * hasVerifiedEmail(session); // true
 * identityEmail(session); // "a@example.com"
 * ```
 */
import type { OrySession } from "../jwt/mint.ts";

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The identity object of a session, or undefined. */
function identityOf(session: OrySession): Json | undefined {
  const identity: unknown = session.identity;
  return isObject(identity) ? identity : undefined;
}

/** `authenticator_assurance_level` (`aal1`, `aal2`, …), when it is a string. */
export function assuranceLevel(session: OrySession): string | undefined {
  const aal = session.authenticator_assurance_level;
  return typeof aal === "string" ? aal : undefined;
}

/**
 * The identity's verifiable addresses sent via email that name one (a non-empty string
 * `value`). The rule and the header read the same list: a "verified" entry without a value
 * once let `--require-verified-email` pass while the header fell back to an unverified one.
 */
function emailAddresses(session: OrySession): (Json & { readonly value: string })[] {
  const addresses = identityOf(session)?.verifiable_addresses;
  if (!Array.isArray(addresses)) return [];
  return addresses.filter((a): a is Json & { value: string } =>
    isObject(a) && a.via === "email" && typeof a.value === "string" && a.value !== ""
  );
}

/** Whether at least one email address of the identity is verified (`verified: true`). */
export function hasVerifiedEmail(session: OrySession): boolean {
  return emailAddresses(session).some((a) => a.verified === true);
}

/**
 * The identity's first verified email address, else its first email verifiable address, else
 * `traits.email`; undefined if none. Verified first: `--require-verified-email` holds when any
 * address is verified, and the address the app is told about on such a path must be that one,
 * not an unverified one listed before it (an adversarial review registered a victim's address
 * in a second email trait, verified only its own, and the first address named the victim).
 */
export function identityEmail(session: OrySession): string | undefined {
  const addresses = emailAddresses(session);
  const chosen = addresses.find((a) => a.verified === true) ?? addresses[0];
  if (chosen !== undefined) return chosen.value;
  const traits = identityOf(session)?.traits;
  const email = isObject(traits) ? traits.email : undefined;
  return typeof email === "string" && email !== "" ? email : undefined;
}

/**
 * The value at `root` (`schema_id`, `traits` or `metadata_public` of the identity) and then
 * down `path` (object keys; a number also indexes an array). Only own properties are read,
 * so `traits.constructor` is absent, not `Object`.
 */
export function identityField(
  session: OrySession,
  root: "schema_id" | "traits" | "metadata_public",
  path: readonly string[],
): unknown {
  const identity = identityOf(session);
  if (identity === undefined || !Object.hasOwn(identity, root)) return undefined;
  let value: unknown = identity[root];
  for (const key of path) {
    if (Array.isArray(value) && /^\d+$/.test(key)) value = value[Number(key)];
    else if (isObject(value) && Object.hasOwn(value, key)) value = value[key];
    else return undefined;
  }
  return value;
}
