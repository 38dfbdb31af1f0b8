/**
 * New and rotated JWK Sets, as text for a file or a Kubernetes Secret: `orygate jwks create`
 * and `orygate jwks rotate`. A rotated set has a new signing key first and keeps every old key
 * as it was, so JWTs the old keys signed still verify against the published set.
 *
 * @example
 * ```ts
 * import { createJwkSetText, rotateJwkSetText } from "./rotate.ts";
 * const first = await createJwkSetText();
 * const rotated = await rotateJwkSetText("keys.json", first);
 * console.log(JSON.parse(rotated.text).keys.length); // 2
 * ```
 */
import { generatePrivateJwk, parseKeySet } from "./keys.ts";

/** A new private JWK Set with one ES256 key, as pretty JSON ending in a newline. */
export async function createJwkSetText(): Promise<string> {
  return JSON.stringify({ keys: [await generatePrivateJwk()] }, null, 2) + "\n";
}

/** A rotated set: its text, the new signing key's `kid` and how many keys it holds. */
export interface RotatedJwkSet {
  readonly text: string;
  readonly kid: string;
  readonly count: number;
}

/**
 * Puts a new signing key in front of the set in `text` (validated as `--jwks` would load it;
 * `source` names it in errors) and keeps the old keys, member for member.
 * Throws ConfigError for a set orygate could not sign with.
 */
export async function rotateJwkSetText(source: string, text: string): Promise<RotatedJwkSet> {
  await parseKeySet(source, text);
  const old = (JSON.parse(text) as { keys: unknown[] }).keys;
  const jwk = await generatePrivateJwk();
  const keys = [jwk, ...old];
  return { text: JSON.stringify({ keys }, null, 2) + "\n", kid: jwk.kid, count: keys.length };
}
