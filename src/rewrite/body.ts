/**
 * Rewrites absolute upstream URLs inside text bodies (HTML, JSON, JavaScript, CSS) onto the
 * publish URL, including the JSON-escaped spelling `https:\/\/host`.
 *
 * @example
 * ```ts
 * import { createBodyRewriter } from "./body.ts";
 * const rewrite = createBodyRewriter([
 *   { from: "https://x.projects.oryapis.com", to: "http://localhost:4000/.ory" },
 * ]);
 * rewrite('{"action":"https://x.projects.oryapis.com/self-service/login?flow=1"}');
 * // '{"action":"http://localhost:4000/.ory/self-service/login?flow=1"}'
 * ```
 */
import type { UrlMapping } from "./url_map.ts";

const TEXT_TYPES =
  /^(text\/(html|css|javascript|plain|xml)|application\/([\w.+-]*\+)?(json|javascript|ecmascript|xml|xhtml\+xml))\b/i;

/** Whether a response of this `Content-Type` carries text whose URLs should be rewritten. */
export function isRewritableType(contentType: string | null): boolean {
  return contentType !== null && TEXT_TYPES.test(contentType.trim());
}

/** Returns a function that rewrites every mapped base in a text. */
export function createBodyRewriter(mappings: readonly UrlMapping[]): (text: string) => string {
  if (mappings.length === 0) return (text) => text;
  const replacements = new Map<string, string>();
  const alternatives: string[] = [];
  for (const { from, to } of mappings) {
    for (const [f, t] of [[from, to], [jsonEscape(from), jsonEscape(to)]]) {
      const key = f.toLowerCase();
      if (replacements.has(key)) continue;
      replacements.set(key, t);
      alternatives.push(escapeRegExp(f));
    }
  }
  // A base only matches at a boundary: `https://a.com` must not match inside
  // `https://a.com.evil.net` or `https://a.com:8443`, nor `http://h:4433` inside `http://h:44331`.
  const pattern = new RegExp(`(?:${alternatives.join("|")})(?![\\w.\\-]|:\\d)`, "gi");
  return (text) => text.replace(pattern, (m) => replacements.get(m.toLowerCase()) ?? m);
}

function jsonEscape(s: string): string {
  return s.replaceAll("/", "\\/");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
