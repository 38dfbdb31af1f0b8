/**
 * Moves absolute URLs from an upstream's address onto the publish URL. One mapping is a
 * `from` base (origin plus optional path, no trailing slash) and the `to` base it moves to.
 *
 * @example
 * ```ts
 * import { mapUrl } from "./url_map.ts";
 * const mappings = [{ from: "https://x.projects.oryapis.com", to: "http://localhost:4000/.ory" }];
 * mapUrl("https://x.projects.oryapis.com/ui/login?flow=1", mappings);
 * // "http://localhost:4000/.ory/ui/login?flow=1"
 * ```
 */

/** One base URL and the base it is moved to. */
export interface UrlMapping {
  /** e.g. `https://x.projects.oryapis.com` or `http://127.0.0.1:4433/kratos`. */
  readonly from: string;
  /** e.g. `http://localhost:4000/.ory`. */
  readonly to: string;
}

/** Builds a mapping from two URLs, dropping trailing slashes so joins stay single-slashed. */
export function urlMapping(from: URL, to: URL, toPath = ""): UrlMapping {
  return { from: base(from), to: base(to) + toPath };
}

function base(url: URL): string {
  return (url.origin + url.pathname).replace(/\/+$/, "");
}

/**
 * Returns `href` moved by the first mapping whose base it starts with (at a path boundary),
 * or undefined when none applies. Scheme and host compare case-insensitively.
 */
export function mapUrl(href: string, mappings: readonly UrlMapping[]): string | undefined {
  for (const { from, to } of mappings) {
    if (href.length < from.length) continue;
    if (href.slice(0, from.length).toLowerCase() !== from.toLowerCase()) continue;
    const rest = href.slice(from.length);
    if (rest === "" || rest[0] === "/" || rest[0] === "?" || rest[0] === "#") {
      return to + (rest === "" ? "" : rest);
    }
  }
  return undefined;
}
