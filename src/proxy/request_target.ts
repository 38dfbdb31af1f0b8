/**
 * The one decision about a request target: refused, or reduced to the canonical form that is
 * both checked (routing, protection) and forwarded, byte for byte.
 *
 * Why: path protection once decided on a decoded, normalised path while the application got
 * the raw target, so `/members/..%2fpub` was "/pub" to orygate and a members page to an
 * Express or Hono app. Now the form that is checked is the form that is sent. A target is
 * refused (400) when routers disagree about what it means; otherwise it is normalised the
 * way RFC 3986 §6.2.2 allows, which changes no meaning:
 *
 * - refused: bytes outside visible ASCII (controls, space, raw non-ASCII: browsers
 *   percent-encode them, and re-encoding them would forward other bytes), `#`, a raw `\` in
 *   the path (WHATWG URL reads it as `/`, Express and Go as a character), an invalid escape,
 *   an escaped control character (`%00`–`%1F`, `%7F`), an encoded `/` or `\` (`%2F`, `%5C`: one segment to Express, two to nginx and
 *   `decodeURIComponent` checks), double encoding (`%25` before two hex digits: an app that
 *   decodes twice would see what orygate never checked), and a segment that is a dot-segment
 *   once what is still escaped is decoded or its `;parameters` dropped (`..;x`, `..%3B`,
 *   which Tomcat-style routers treat as `..` and every other router as a name);
 * - normalised: escapes of unreserved characters are decoded (`%6D` → `m`, `%2E` → `.`),
 *   dot-segments removed (RFC 3986 §5.2.4, after that decoding, so `%2e%2e` cannot hide
 *   one), repeated slashes merged (as nginx's default `merge_slashes`), and `"<>\`{}` in the
 *   path (`"<>'` in the query) percent-encoded as WHATWG URL parsing does, so that parsing
 *   the canonical form with `new URL` changes nothing.
 *
 * A target that is already canonical (nearly every request) is returned as it came after one
 * scan, without building strings.
 *
 * @example
 * ```ts
 * import { canonicalTarget } from "./request_target.ts";
 * canonicalTarget("/members/x?a=1"); // { path: "/members/x", query: "?a=1" }
 * canonicalTarget("/pub/%2e%2e/members"); // { path: "/members", query: "" }
 * canonicalTarget("/members/..%2fpub"); // { refused: "an encoded \"/\" or \"\\\" (%2F, %5C) ..." }
 * ```
 */

/** What {@linkcode canonicalTarget} decided. */
export type TargetDecision =
  | { readonly path: string; readonly query: string; readonly refused?: undefined }
  | { readonly refused: string };

/** Decides about an origin-form request target (`/path?query`). */
export function canonicalTarget(target: string): TargetDecision {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q);
  if (path.charCodeAt(0) !== SLASH) return { refused: "the request target must start with /" };

  let rewrite = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return { refused: RAW_BYTE };
    switch (c) {
      case 0x23: // #
        return { refused: FRAGMENT };
      case 0x5c: // \
        return { refused: 'a backslash in the path; send "/" or %5C-free paths' };
      case 0x25: { // %
        const byte = hexByte(path, i + 1);
        if (byte < 0) return { refused: "an invalid percent-escape in the path" };
        // %00–%1F and %7F: URL parsing drops an escaped tab or newline once decoded
        // (`/api/%09/private` became `/api//private` to a URLPattern rule) while routers
        // take it for a segment.
        if (byte < 0x20 || byte === 0x7f) {
          return { refused: "an encoded control character (%00–%1F, %7F) in the path" };
        }
        if (byte === SLASH || byte === 0x5c) {
          return { refused: 'an encoded "/" or "\\" (%2F, %5C) in the path' };
        }
        if (byte === 0x25 && hexByte(path, i + 3) >= 0) {
          return { refused: DOUBLE_ENCODING };
        }
        if (isUnreserved(byte)) rewrite = true;
        i += 2;
        break;
      }
      case SLASH: {
        const next = path.charCodeAt(i + 1);
        if (next === SLASH || next === DOT) rewrite = true;
        break;
      }
      case 0x3b: // ;
        rewrite = true; // a dot-segment with parameters is refused: look at segments
        break;
      default:
        if (PATH_ENCODED.has(c)) rewrite = true;
    }
  }
  const queryDecision = canonicalQuery(query);
  if (typeof queryDecision !== "string") return queryDecision;
  if (!rewrite) return { path, query: queryDecision };
  return canonicalPath(path, queryDecision);
}

/**
 * Splits an absolute URL string into its origin and its request target (path and query),
 * without parsing or normalising the target.
 */
export function splitUrl(url: string): { origin: string; target: string } {
  const authority = url.indexOf("//") + 2;
  let end = authority;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === SLASH || c === 0x3f /* ? */ || c === 0x23 /* # */) break;
    end++;
  }
  const rest = url.slice(end);
  return {
    origin: url.slice(0, end),
    target: rest.charCodeAt(0) === SLASH ? rest : "/" + rest,
  };
}

const SLASH = 0x2f;
const DOT = 0x2e;
const RAW_BYTE = "a control character, space or non-ASCII byte in the request target " +
  "(percent-encode it)";
const FRAGMENT = "a # in the request target";
const DOUBLE_ENCODING = "a double percent-encoding (%25 before two hex digits) in the path";
const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;
/** Characters WHATWG URL parsing percent-encodes in a path: `"` `<` `>` `` ` `` `{` `}`. */
const PATH_ENCODED: ReadonlySet<number> = new Set([0x22, 0x3c, 0x3e, 0x60, 0x7b, 0x7d]);
/** ... and in the query of an http(s) URL: `"` `<` `>` `'`. */
const QUERY_ENCODED: ReadonlySet<number> = new Set([0x22, 0x3c, 0x3e, 0x27]);

/** The byte a `%XX` at `at` encodes, or -1 when there is no valid escape there. */
function hexByte(s: string, at: number): number {
  const hi = hexValue(s.charCodeAt(at));
  const lo = hexValue(s.charCodeAt(at + 1));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(b: number): boolean {
  const lower = b | 0x20;
  return (lower >= 0x61 && lower <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d ||
    b === DOT || b === 0x5f || b === 0x7e;
}

function percent(c: number): string {
  return "%" + c.toString(16).toUpperCase().padStart(2, "0");
}

/** The query as forwarded (with its `?`), or a refusal. */
function canonicalQuery(query: string): string | { refused: string } {
  if (query === "?") return ""; // URL parsing drops an empty query too
  let encode = false;
  for (let i = 1; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return { refused: RAW_BYTE };
    if (c === 0x23) return { refused: FRAGMENT };
    if (QUERY_ENCODED.has(c)) encode = true;
  }
  if (!encode) return query;
  let out = "";
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    out += i > 0 && QUERY_ENCODED.has(c) ? percent(c) : query[i];
  }
  return out;
}

/**
 * Whether a segment that is not `.` or `..` becomes one for a router that decodes what is
 * still escaped (`%3B` → `;`) or drops `;parameters` (Tomcat, Spring): `..;x`, `..%3B`,
 * `.%2e%3bx`. Found by an adversarial review after raw `..;` was already refused.
 */
function hidesDotSegment(segment: string): boolean {
  if (segment.charCodeAt(0) !== DOT && segment.charCodeAt(0) !== 0x25) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment;
  }
  const semicolon = decoded.indexOf(";");
  const name = semicolon < 0 ? decoded : decoded.slice(0, semicolon);
  return name === "." || name === "..";
}

/** The slow path: decode unreserved escapes, encode what URL parsing would, resolve segments. */
function canonicalPath(path: string, query: string): TargetDecision {
  let text = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25) {
      const byte = hexByte(path, i + 1);
      text += isUnreserved(byte) ? String.fromCharCode(byte) : path.slice(i, i + 3);
      i += 2;
    } else text += PATH_ENCODED.has(c) ? percent(c) : path[i];
  }
  // "%25" then "%41%42" decodes to "%25AB": a double encoding made by the decoding itself.
  if (DOUBLE_ENCODED.test(text)) return { refused: DOUBLE_ENCODING };
  const segments: string[] = [];
  const parts = text.split("/");
  // parts[0] is the empty string before the leading "/".
  let trailingSlash = false;
  for (let i = 1; i < parts.length; i++) {
    const segment = parts[i];
    const last = i === parts.length - 1;
    if (segment === "." || segment === "..") {
      if (segment === ".." && segments.length > 0) segments.pop();
      trailingSlash = last; // "/a/b/.." is "/a/", as RFC 3986 §5.2.4 resolves it
    } else if (segment === "") {
      trailingSlash = last; // "//" merges; a final "/" stays
    } else {
      if (hidesDotSegment(segment)) {
        return { refused: 'a dot-segment hidden by escapes or ";" parameters in the path' };
      }
      segments.push(segment);
      trailingSlash = false;
    }
  }
  const joined = "/" + segments.join("/");
  return { path: trailingSlash && segments.length > 0 ? joined + "/" : joined, query };
}
