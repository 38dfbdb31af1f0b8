/**
 * Serves the public keys as a JWK Set, with cache headers and an ETag.
 *
 * @example
 * ```ts
 * import { generateSigningKey } from "./keys.ts";
 * import { createJwksRoute } from "./jwks.ts";
 * const route = createJwksRoute({ keys: [await generateSigningKey()] });
 * const res = route(new Request("http://localhost:4000/.ory/jwks.json"));
 * console.log((await res.json()).keys.length); // 1
 * ```
 */
import type { KeySet } from "./keys.ts";

/** Returns a handler answering with the public JWK Set (never a private member). */
export function createJwksRoute(
  keySet: KeySet,
): (req: { readonly method: string; readonly headers: Headers }) => Response {
  const body = JSON.stringify({ keys: keySet.keys.map((k) => k.publicJwk) });
  let hash = 0;
  for (let i = 0; i < body.length; i++) hash = (hash * 31 + body.charCodeAt(i)) | 0;
  const etag = `"${(hash >>> 0).toString(16)}"`;
  return (req) => {
    const headers = {
      "content-type": "application/jwk-set+json",
      "cache-control": "public, max-age=60, must-revalidate",
      etag,
    };
    if (req.headers.get("if-none-match") === etag) {
      return new Response(null, { status: 304, headers });
    }
    return new Response(req.method === "HEAD" ? null : body, { headers });
  };
}
