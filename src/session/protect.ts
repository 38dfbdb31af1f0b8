/**
 * Path protection rules. One syntax, three kinds:
 *
 * - `re:<regex>`: a JavaScript regular expression tested against the path, e.g. `re:^/api/v\d+/`
 * - a pattern containing `*`, `:name`, `{` or `(`: a URLPattern pathname, e.g. `/teams/*\/admin`
 * - anything else: a path prefix at segment boundaries: `/members` protects `/members` and
 *   `/members/...`, not `/membership`
 *
 * Rules see the canonical path (`proxy/request_target.ts`) and match it more strictly than
 * any router, never less: what is still escaped is decoded (`%3B`), empty segments and
 * `;params` are dropped, every kind of rule compares case-insensitively (Express routes
 * `/MEMBERS` like `/members`), and a trailing slash never escapes a rule (Express routes
 * `/teams/a/admin/` like `/teams/a/admin`). A glob ending in `/*` also covers the path it
 * hangs from (`/admin/*` protects `/admin`). A path that cannot be decoded, or that would
 * need a dot-segment resolved after decoding (which could only move it *out* of a rule),
 * counts as protected (fail closed).
 *
 * @example
 * ```ts
 * import { compileProtection } from "./protect.ts";
 * const isProtected = compileProtection(["/members"]);
 * isProtected("/members/42"); // true
 * isProtected("/membership"); // false
 * isProtected("/%6dembers"); // true
 * isProtected("/members/..%3B/x"); // true: never resolved out of the rule
 * ```
 */
import { ConfigError } from "../errors.ts";

/** A rule as the user wrote it, the flag it came with (for messages), and what it stands for. */
export interface TaggedRule<T> {
  readonly rule: string;
  readonly flag: string;
  readonly tag: T;
}

/**
 * Compiles rules into one function returning the tags of the rules a path matches, in rule
 * order, or undefined when it matches none. The path is normalised once, whatever the number
 * of rules; a path that cannot be read matches every rule (fail closed). Throws
 * {@linkcode ConfigError} for a malformed rule.
 */
export function compileRuleSet<T>(
  rules: readonly TaggedRule<T>[],
): (pathname: string) => T[] | undefined {
  if (rules.length === 0) return () => undefined;
  const matchers = rules.map((r) => ({ test: compilePathRule(r.rule, r.flag), tag: r.tag }));
  const every = rules.map((r) => r.tag);
  return (pathname) => {
    const readings = normalisePath(pathname);
    if (readings === undefined) return [...every];
    let tags: T[] | undefined;
    for (const { test, tag } of matchers) {
      if (readings.some(test)) (tags ??= []).push(tag);
    }
    return tags;
  };
}

/** Returns a predicate telling whether a request path is protected by `--protect-path-prefix`. */
export function compileProtection(rules: readonly string[]): (pathname: string) => boolean {
  const match = compileRuleSet(rules.map((rule) => ({ rule, flag: FLAG, tag: true })));
  return (pathname) => match(pathname) !== undefined;
}

const FLAG = "--protect-path-prefix";

/**
 * One rule as a test of one reading of {@linkcode normalisePath}; throws
 * {@linkcode ConfigError} naming `flag` when the rule is malformed. Every rule flag
 * (`--protect-path-prefix`, `--require-*`) compiles through this one matcher.
 */
export function compilePathRule(rule: string, flag: string): (path: string) => boolean {
  if (rule.startsWith("re:")) {
    let re: RegExp;
    try {
      re = new RegExp(rule.slice(3), "i");
    } catch (err) {
      throw new ConfigError(
        `Cannot use ${flag} "${rule}": not a regular expression (${(err as Error).message})`,
      );
    }
    return withoutTrailingSlash((path) => re.test(path));
  }
  if (!rule.startsWith("/")) {
    throw new ConfigError(
      `Cannot use ${flag} "${rule}": a rule starts with "/" (or "re:" for a regex)`,
    );
  }
  if (/[*:{(]/.test(rule)) {
    let pattern: URLPattern;
    let parent: URLPattern | undefined;
    try {
      pattern = new URLPattern({ pathname: rule }, { ignoreCase: true });
      // "/admin/*" also protects "/admin", which app.use("/admin") and Hono's "/admin/*" serve.
      if (rule.endsWith("/*") && rule.length > 2) {
        parent = new URLPattern({ pathname: rule.slice(0, -2) }, { ignoreCase: true });
      }
    } catch (err) {
      throw new ConfigError(
        `Cannot use ${flag} "${rule}": not a URLPattern (${(err as Error).message})`,
      );
    }
    // URLPattern.test crosses into Rust and costs microseconds (2–6 µs a pattern measured here,
    // against ~0.6 µs for a whole prefix rule), paid by every request on every path. A path
    // matches only if it starts with the pattern's fixed head, which a regex checks in
    // nanoseconds, so paths elsewhere never reach URLPattern.
    const head = fixedHead(rule);
    return withoutTrailingSlash((path) =>
      head.test(path) &&
      (pattern.test({ pathname: path }) || parent?.test({ pathname: path }) === true)
    );
  }
  const normalised = normalisePath(rule)?.[0];
  if (normalised === undefined) {
    throw new ConfigError(
      `Cannot use ${flag} "${rule}": a rule cannot hold "." or ".." segments`,
    );
  }
  const prefix = normalised.replace(/\/+$/, "").toLowerCase();
  if (prefix === "") return () => true;
  return (path) => {
    const lower = path.toLowerCase();
    return lower === prefix || lower.startsWith(prefix + "/");
  };
}

/**
 * A test for the fixed text every path a URLPattern pathname matches starts with: the plain
 * characters before its first part (`*`, `:name`, `{`, `(`), without trailing slashes, which
 * that part may take with it (`/a/:id?` matches `/a`). Compared case-insensitively with
 * Unicode case folding, as loosely as URLPattern's own `ignoreCase` regex or more. A rule
 * with anything else first (an escape, `.`, `%`, non-ASCII: text URLPattern might read or
 * canonicalise differently) gets a test that passes every path.
 */
function fixedHead(rule: string): RegExp {
  const plain = /^[A-Za-z0-9/_~-]*/.exec(rule)![0];
  const head = /^[*:{(]/.test(rule.slice(plain.length)) ? plain.replace(/\/+$/, "") : "";
  return new RegExp("^" + head, "iu");
}

/** Tests `path`, and `path` without its trailing slash: routers serve both the same. */
function withoutTrailingSlash(test: (path: string) => boolean): (path: string) => boolean {
  return (path) => test(path) || (path.length > 1 && path.endsWith("/") && test(path.slice(0, -1)));
}

/**
 * The readings of a path that rules are matched against: decoded as Express, Hono and Go read
 * it, and with `;parameters` dropped as Tomcat and Spring read it (`/teams/;x/admin` is a
 * segment `;x` to the first and `/teams/admin` to the second; a rule protecting either is
 * matched). Undefined when it cannot be decoded or holds a dot-segment (the canonical form has
 * none: one that appears only after decoding is refused upstream, and resolving it here could
 * only take a path out of a rule).
 */
export function normalisePath(pathname: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  // Control characters decoded: URL parsing would drop some; the target decision refuses them.
  // deno-lint-ignore no-control-regex
  if (/[\0-\x1f\x7f]/.test(decoded)) return undefined;
  const whole: string[] = [];
  const stripped: string[] = [];
  for (const raw of decoded.replaceAll("\\", "/").split("/")) {
    if (raw === "") continue;
    const name = raw.split(";")[0];
    if (raw === "." || raw === ".." || name === "." || name === "..") return undefined;
    whole.push(raw);
    if (name !== "") stripped.push(name);
  }
  const slash = decoded.endsWith("/") ? "/" : "";
  const join = (segments: string[]) =>
    segments.length === 0 ? "/" : "/" + segments.join("/") + slash;
  const first = join(whole);
  const second = join(stripped);
  return first === second ? [first] : [first, second];
}
