/**
 * Rewrites an upstream's `Location` header onto the publish URL.
 *
 * The result is always an absolute http(s) URL or the original value untouched: a relative
 * `Location` from Ory is resolved against the Ory request first, because a bare
 * `/self-service/...` would otherwise land outside `/.ory` (and some browsers treat odd
 * results as a request to "open an application").
 *
 * @example
 * ```ts
 * import { rewriteLocation } from "./location.ts";
 * rewriteLocation("/ui/login", {
 *   requestUrl: new URL("https://x.projects.oryapis.com/self-service/login/browser"),
 *   mappings: [{ from: "https://x.projects.oryapis.com", to: "http://localhost:4000/.ory" }],
 * }); // "http://localhost:4000/.ory/ui/login"
 * ```
 */
import { mapUrl, type UrlMapping } from "./url_map.ts";

/** How to rewrite one `Location`. */
export interface LocationRewrite {
  /** The URL the upstream request went to: relative locations resolve against it. */
  readonly requestUrl: URL;
  /** Bases to move, tried in order. */
  readonly mappings: readonly UrlMapping[];
  /** When the rewritten location's path (no query) equals this, send `defaultRedirect`. */
  readonly welcome?: { readonly href: string; readonly defaultRedirect: string };
}

/** Returns the rewritten `Location` value. Non-http(s) and unparseable values pass unchanged. */
export function rewriteLocation(location: string, options: LocationRewrite): string {
  let resolved: URL;
  try {
    resolved = new URL(location, options.requestUrl);
  } catch {
    return location;
  }
  if (resolved.protocol !== "http:" && resolved.protocol !== "https:") return location;
  const mapped = mapUrl(resolved.href, options.mappings);
  if (mapped === undefined) {
    // Not an upstream URL: keep the client's own spelling unless it was relative to an
    // upstream (then the resolved absolute form is the only correct one).
    return isAbsolute(location) ? location : resolved.href;
  }
  const welcome = options.welcome;
  if (welcome !== undefined) {
    const noQuery = mapped.replace(/[?#].*$/, "").replace(/\/+$/, "");
    if (noQuery === welcome.href) return welcome.defaultRedirect;
  }
  return mapped;
}

function isAbsolute(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(value);
}
