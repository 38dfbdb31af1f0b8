/**
 * Path protection rules. One syntax, three kinds:
 *
 * - `re:<regex>`: a JavaScript regular expression tested against the path, e.g. `re:^/api/v\d+/`
 * - a pattern containing `*`, `:name`, `{` or `(`: a URLPattern pathname, e.g. `/teams/*\/admin`
 * - anything else: a path prefix at segment boundaries: `/members` protects `/members` and
 *   `/members/...`, not `/membership`
 *
 * Paths are normalised before matching so lookalikes cannot slip past: percent-encoding is
 * decoded (`/%6dembers`), repeated slashes collapse (`//members`), `;params` are dropped, and
 * prefixes and patterns compare case-insensitively. A path that cannot be decoded counts as
 * protected (fail closed).
 *
 * @example
 * ```ts
 * import { compileProtection } from "./protect.ts";
 * const isProtected = compileProtection(["/members"]);
 * isProtected("/members/42"); // true
 * isProtected("/membership"); // false
 * isProtected("/%6dembers"); // true
 * ```
 */
import { ConfigError } from "../errors.ts";

/** Returns a predicate telling whether a request path is protected. */
export function compileProtection(rules: readonly string[]): (pathname: string) => boolean {
  if (rules.length === 0) return () => false;
  const matchers = rules.map(compileRule);
  return (pathname) => {
    const normalised = normalisePath(pathname);
    if (normalised === undefined) return true;
    return matchers.some((m) => m(normalised));
  };
}

function compileRule(rule: string): (path: string) => boolean {
  if (rule.startsWith("re:")) {
    let re: RegExp;
    try {
      re = new RegExp(rule.slice(3));
    } catch (err) {
      throw new ConfigError(
        `Cannot use --protect-path-prefix "${rule}": not a regular expression (${
          (err as Error).message
        })`,
      );
    }
    return (path) => re.test(path);
  }
  if (!rule.startsWith("/")) {
    throw new ConfigError(
      `Cannot use --protect-path-prefix "${rule}": a rule starts with "/" (or "re:" for a regex)`,
    );
  }
  if (/[*:{(]/.test(rule)) {
    let pattern: URLPattern;
    try {
      pattern = new URLPattern({ pathname: rule }, { ignoreCase: true });
    } catch (err) {
      throw new ConfigError(
        `Cannot use --protect-path-prefix "${rule}": not a URLPattern (${(err as Error).message})`,
      );
    }
    return (path) => pattern.test({ pathname: path });
  }
  const prefix = normalisePath(rule)!.replace(/\/+$/, "").toLowerCase();
  if (prefix === "") return () => true;
  return (path) => {
    const lower = path.toLowerCase();
    return lower === prefix || lower.startsWith(prefix + "/");
  };
}

/** Decodes and simplifies a path for matching; undefined when it cannot be decoded. */
export function normalisePath(pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  const segments: string[] = [];
  for (const raw of decoded.replaceAll("\\", "/").split("/")) {
    const segment = raw.split(";")[0];
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return "/" + segments.join("/") + (decoded.endsWith("/") && segments.length > 0 ? "/" : "");
}
