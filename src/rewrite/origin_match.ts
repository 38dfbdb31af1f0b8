/**
 * Matches an origin against a list of exact origins and `*` wildcard patterns
 * (`https://*.example.org`); `*` matches within the host, never across a `/`.
 *
 * @example
 * ```ts
 * import { compileOriginMatcher } from "./origin_match.ts";
 * const allowed = compileOriginMatcher(["https://*.example.org", "http://localhost:4000"]);
 * allowed("https://api.example.org"); // true
 * allowed("https://example.org.evil.com"); // false
 * ```
 */

/** Returns a case-insensitive matcher. A lone `*` in the list is ignored here (callers decide). */
export function compileOriginMatcher(origins: readonly string[]): (origin: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const origin of origins) {
    if (origin === "*") continue;
    if (origin.includes("*")) {
      const source = origin.toLowerCase().split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*");
      patterns.push(new RegExp(`^${source}$`));
    } else {
      exact.add(origin.toLowerCase());
    }
  }
  return (origin) => {
    const lower = origin.toLowerCase();
    return exact.has(lower) || patterns.some((p) => p.test(lower));
  };
}
