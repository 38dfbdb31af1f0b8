/**
 * URL validation shared by the config parser.
 *
 * @example
 * ```ts
 * import { parseOrigin } from "./url.ts";
 * parseOrigin("the publish URL", "https://example.org/").origin; // "https://example.org"
 * ```
 */
import { ConfigError } from "../errors.ts";

/** Parses an absolute http(s) URL (relative ones resolve against `base` when given). */
export function parseHttpUrl(what: string, value: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw new ConfigError(
      `Cannot parse ${what}: "${value}" is not a URL (expected e.g. http://localhost:3000)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(
      `Cannot use ${what} "${value}": it must start with http:// or https://`,
    );
  }
  if (url.username || url.password) {
    throw new ConfigError(`Cannot use ${what} "${value}": remove the user name and password`);
  }
  return url;
}

/**
 * `url`'s origin and path without trailing slashes: the base that paths starting with `/` are
 * appended to (query and fragment are not part of it).
 *
 * @example
 * ```ts
 * import { baseOf } from "./url.ts";
 * baseOf(new URL("http://127.0.0.1:4433/kratos/")); // "http://127.0.0.1:4433/kratos"
 * ```
 */
export function baseOf(url: URL): string {
  return (url.origin + url.pathname).replace(/\/+$/, "");
}

/** Parses a URL that must be an origin: scheme, host and optional port, no path. */
export function parseOrigin(what: string, value: string): URL {
  const url = parseHttpUrl(what, value);
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new ConfigError(
      `Cannot use ${what} "${value}": it may not contain a path, query or fragment (use ${url.origin})`,
    );
  }
  return new URL(url.origin);
}
