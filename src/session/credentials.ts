/**
 * Finds the Ory credentials a request carries: session cookies (`ory_session_*`,
 * `ory_kratos_session`, in the order sent) or, without any, an `X-Session-Token` and/or
 * `Authorization: Bearer <token>`. The cache key is a SHA-256 hash of exactly those, so the
 * raw secret is never kept as a key.
 *
 * @example
 * ```ts
 * import { extractCredentials } from "./credentials.ts";
 * const cred = extractCredentials(new Headers({ cookie: "a=1; ory_kratos_session=s3cr3t" }));
 * console.log(cred?.cookie); // "ory_kratos_session=s3cr3t"
 * ```
 */
import { createHash } from "node:crypto";

/** The credential parts sent to Ory's whoami, and the hashed cache key. */
export interface Credentials {
  /** Only Ory's own session cookies, as a `Cookie` header value. */
  readonly cookie?: string;
  /**
   * The `Cookie` header the application must receive instead of the client's, when that one
   * repeats an Ory session cookie's name or disguises one: later copies and disguised names
   * are removed, so the app sees exactly the session Ory was asked about.
   */
  readonly appCookie?: string;
  readonly sessionToken?: string;
  /** The full `Authorization` header value (a Bearer token). */
  readonly authorization?: string;
  /**
   * Hex SHA-256 over all of the above; empty when there is nothing to ask Ory about (only an
   * `appCookie` to send on).
   */
  readonly key: string;
}

/** Whether a cookie name is one of Ory's session cookies. */
export function isOrySessionCookie(name: string): boolean {
  return name === "ory_kratos_session" || name.startsWith("ory_session_");
}

/**
 * The raw header values one connection's last credentials came from. A keep-alive connection
 * usually repeats them, so {@linkcode extractCredentials} can reuse the result (and skip the
 * hash) when all three are exactly what they were.
 */
export interface CredentialMemo {
  cookie: string | null;
  sessionToken: string | null;
  authorization: string | null;
  result: Credentials | undefined;
}

/**
 * A fresh memo. It holds the answer for three empty headers (no credentials), which is what
 * such a request would get anyway.
 */
export function createCredentialMemo(): CredentialMemo {
  return { cookie: "", sessionToken: "", authorization: "", result: undefined };
}

/**
 * Returns the request's Ory credentials, or undefined when it carries none. With `memo`, the
 * previous answer is reused when the raw headers are unchanged (the answer is a function of
 * exactly those three values), and the memo is updated otherwise.
 */
export function extractCredentials(
  headers: Headers,
  memo?: CredentialMemo,
): Credentials | undefined {
  const rawCookie = headers.get("cookie");
  const rawToken = headers.get("x-session-token");
  const rawAuth = headers.get("authorization");
  if (
    memo !== undefined && memo.cookie === rawCookie && memo.sessionToken === rawToken &&
    memo.authorization === rawAuth
  ) {
    return memo.result;
  }
  const result = fromRaw(rawCookie, rawToken, rawAuth);
  if (memo !== undefined) {
    memo.cookie = rawCookie;
    memo.sessionToken = rawToken;
    memo.authorization = rawAuth;
    memo.result = result;
  }
  return result;
}

function fromRaw(
  rawCookie: string | null,
  rawToken: string | null,
  rawAuth: string | null,
): Credentials | undefined {
  // Most cookie headers carry no Ory cookie at all: one scan decides.
  // Most cookie headers carry nothing that could be an Ory cookie: one scan decides. ("ory"
  // rather than "ory_": a disguised name such as ory%5Fkratos%5Fsession must be seen too.)
  const cookies = rawCookie !== null && rawCookie.includes("ory")
    ? orySessionCookies(rawCookie)
    : undefined;
  const cookie = cookies?.ory;
  // With an Ory session cookie, the cookie alone is asked about. The app receives the Cookie
  // header but never X-Session-Token or Authorization (the gate removes them), and Ory would
  // prefer a token: a JWT for the token's identity beside another identity's cookie would
  // name someone other than the session the app can see.
  const sessionToken = cookie === undefined ? rawToken?.trim() || undefined : undefined;
  const auth = cookie === undefined ? rawAuth?.trim() : undefined;
  const authorization = auth && /^bearer\s+\S+$/i.test(auth) ? auth : undefined;
  if (cookie === undefined && sessionToken === undefined && authorization === undefined) {
    return cookies?.app === undefined ? undefined : { key: "", appCookie: cookies.app };
  }
  const material = `c:${cookie ?? ""}\nt:${sessionToken ?? ""}\na:${authorization ?? ""}`;
  // Synchronous on purpose: WebCrypto's digest is an async op costing ~23 µs here, more than
  // the rest of a session request; node:crypto's hash is ~2 µs.
  const key = createHash("sha256").update(material).digest("hex");
  return { cookie, appCookie: cookies?.app, sessionToken, authorization, key };
}

/**
 * Ory's session cookies from a `Cookie` value, in the order sent, one per name. Never sorted
 * (Ory takes the first of two same-named cookies). Apps disagree on duplicates (Go and the
 * `cookie` package keep the first, Python's SimpleCookie the last), and some read a name
 * Ory would not: Python's `str.strip()` drops NEL and Unicode spaces around it, PHP and Rack
 * decode `%5F` and turn `.` and spaces into `_`. So when a name repeats, or a cookie's name
 * becomes an Ory session cookie's only in such a reading (a disguise, found by an
 * adversarial review: `\x85ory_kratos_session=<bob>` beside alice's cookie gave Starlette,
 * Django and Flask bob while the JWT named alice), `app` is the header without the later
 * copies and the disguised ones: Ory and the app see the same session, and a browser holding
 * a stale copy (another Domain or Path) is not logged out. The order is part of the cache
 * key: two orders share an entry only when they are the same string.
 */
function orySessionCookies(
  header: string,
): { ory: string | undefined; app?: string } | undefined {
  const found: string[] = [];
  const names: string[] = [];
  let dropped = false;
  const quoted = header.includes('"');
  const parts = header.split(";");
  const keep: boolean[] = [];
  for (const part of parts) {
    // A quote left open across a ";" (`a="x;ory_kratos_session=v;y"`) is split here and by
    // Go (so by Ory) but read as one value by quote-aware parsers (Python's SimpleCookie):
    // which session the app sees is unknowable, so none counts.
    if (quoted && (part.split('"').length - 1) % 2 === 1) return undefined;
    const c = part.trim();
    const eq = c.indexOf("=");
    const name = eq > 0 ? c.slice(0, eq).trim() : "";
    const clean = name === "" ? "" : looseName(name);
    if (!isOrySessionCookie(clean)) {
      keep.push(true);
      continue;
    }
    if (clean !== name) {
      dropped = true; // a disguise: Ory would not read it as its cookie, some apps would
      keep.push(false);
      continue;
    }
    if (names.includes(name)) {
      dropped = true;
      keep.push(false);
      continue;
    }
    names.push(name);
    keep.push(true);
    if (c.length > eq + 1) found.push(c);
  }
  const app = dropped
    ? parts.filter((_, i) => keep[i]).map((p) => p.trim()).filter((p) => p !== "").join("; ")
    : undefined;
  if (found.length === 0 && app === undefined) return undefined;
  return { ory: found.length > 0 ? found.join("; ") : undefined, app };
}

/**
 * A cookie name as lenient parsers read it: escapes decoded (PHP, Rack), `.`, `[` and spaces
 * as `_` (PHP), and anything but letters, digits, `_` and `-` dropped from both ends
 * (Python's `strip()` drops NEL and Unicode spaces; raw UTF-8 arrives here as Latin-1).
 */
function looseName(name: string): string {
  let n = name;
  if (n.includes("%")) {
    try {
      n = decodeURIComponent(n);
    } catch {
      // not decodable: as it is
    }
  }
  return n.replace(/[.\[ ]/g, "_").replace(/^[^A-Za-z0-9_-]+|[^A-Za-z0-9_-]+$/g, "");
}
