/**
 * The session gate for application requests:
 *
 * 1. `Authorization` and `X-Session-Token` never reach the app as the client sent them; the
 *    app can trust that a Bearer token came from orygate.
 * 2. No Ory credential → no call to Ory at all.
 * 3. A credential is checked with whoami (cached, single-flight); an active session becomes
 *    `Authorization: Bearer <JWT>` (the JWT is reused while more than half its life is left).
 * 4. Protected paths without a session: browsers are redirected to login with `return_to`,
 *    other clients get 401; when Ory cannot answer they get 503 (fail closed).
 *
 * @example
 * ```ts ignore
 * const gate = createSessionGate({ ... });
 * const denial = await gate(req, upstreamHeaders, new URL(req.url));
 * ```
 */
import type { MintedToken, OrySession } from "../jwt/mint.ts";
import type { AdmittedSession, AppRequestGate, GateFacts } from "../proxy/contracts.ts";
import { NO_METRICS, type SessionMetrics } from "../metrics/metrics.ts";
import type { ProxyRequest } from "../http1/message.ts";
import type { TtlCache } from "./cache.ts";
import {
  createCredentialMemo,
  type CredentialMemo,
  type Credentials,
  extractCredentials,
} from "./credentials.ts";
import type { Whoami, WhoamiResult } from "./whoami.ts";

/** What one cached credential resolves to. */
export interface SessionEntry {
  readonly result: WhoamiResult;
  /** For an active session: what long-lived answers are followed by (`GateFacts.session`). */
  readonly admitted?: AdmittedSession;
  /** The last JWT minted for it, reused while more than half its life is left. */
  token?: MintedToken & {
    readonly mintedAt: number;
    /** `Bearer <token>`, built once: the same string is set on every request. */
    readonly header: string;
  };
}

/** Gate settings and effects. */
export interface SessionGateOptions {
  readonly whoami: Whoami;
  readonly cache: TtlCache<SessionEntry>;
  /** How long a whoami answer is reused. */
  readonly cacheTtlMs: number;
  /** Mints a JWT; undefined with `--no-jwt` (protection only, headers untouched). */
  readonly mint?: (session: OrySession, expiresAt: number | undefined) => Promise<MintedToken>;
  readonly isProtected: (pathname: string) => boolean;
  /** The publish URL's origin: where `return_to` sends the user back to. */
  readonly publishOrigin: string;
  /** `<publish>/.ory` */
  readonly oryPublicBase: string;
  readonly now?: () => number;
  readonly onError?: (message: string) => void;
  /** Counts cache hits and misses and protection denials; default: nothing. */
  readonly metrics?: SessionMetrics;
}

/**
 * The gate function the handler calls (its {@linkcode AppRequestGate}). The connection it is
 * given keys a memo of that connection's last credentials, so a keep-alive connection
 * repeating them costs no hash; the answer is synchronous when the session is cached.
 */
export type SessionGate = AppRequestGate;

/** Creates the gate. */
export function createSessionGate(options: SessionGateOptions): SessionGate {
  const now = options.now ?? Date.now;
  const jwt = options.mint !== undefined;
  const metrics = options.metrics ?? NO_METRICS;
  const deny = (req: ProxyRequest, url: URL) => {
    const answer = loginOr401(req, url, options);
    metrics.protectionDenial(answer.status === 401 ? "unauthorized" : "redirect");
    return answer;
  };

  const lookup = (cred: Credentials, requestId: string | null) =>
    options.cache.get(cred.key, async () => {
      const result = await options.whoami(cred, requestId ?? undefined);
      let expiresAt = now() + options.cacheTtlMs;
      if (result.kind === "active" && result.expiresAt !== undefined) {
        expiresAt = Math.min(expiresAt, result.expiresAt);
      }
      // Errors are not cached: the next request asks again.
      if (result.kind === "error") expiresAt = 0;
      const admitted = result.kind === "active"
        ? { key: cred.key, id: result.session.id ?? "", expiresAt: result.expiresAt }
        : undefined;
      return { value: { result, admitted }, expiresAt };
    });

  const memos = new WeakMap<object, CredentialMemo>();
  const memoFor = (connection: object | undefined) => {
    if (connection === undefined) return undefined;
    let memo = memos.get(connection);
    if (memo === undefined) memos.set(connection, memo = createCredentialMemo());
    return memo;
  };

  /** Sets the JWT for an active session, or answers for an inactive/unknown one. */
  const decide = (
    req: ProxyRequest,
    headers: Headers,
    url: URL,
    entry: SessionEntry,
    protectedPath: boolean,
    facts: GateFacts | undefined,
  ): Response | undefined | Promise<Response | undefined> => {
    const { result } = entry;
    if (result.kind === "active" && (result.expiresAt === undefined || result.expiresAt > now())) {
      if (facts !== undefined) {
        facts.identityId = result.session.identity?.id;
        facts.session = entry.admitted;
      }
      if (options.mint === undefined) return undefined;
      const t = now();
      const token = entry.token;
      if (token === undefined || (token.expiresAt - t) * 2 < token.expiresAt - token.mintedAt) {
        return mintFor(headers, entry, options.mint(result.session, result.expiresAt), t);
      }
      headers.set("authorization", token.header);
      return undefined;
    }
    if (result.kind === "error") {
      options.onError?.(`session check failed: ${result.reason}`);
      if (!protectedPath) return undefined;
      metrics.protectionDenial("unavailable");
      return unavailable(result.retryAfter);
    }
    return protectedPath ? deny(req, url) : undefined;
  };

  const mintFor = async (
    headers: Headers,
    entry: SessionEntry,
    minting: Promise<MintedToken>,
    mintedAt: number,
  ): Promise<undefined> => {
    const minted = await minting;
    const token = { ...minted, mintedAt, header: `Bearer ${minted.token}` };
    entry.token = token;
    headers.set("authorization", token.header);
    return undefined;
  };

  return (req, headers, url, connection, facts) => {
    const protectedPath = options.isProtected(url.pathname);
    if (!jwt && !protectedPath) return undefined;
    if (jwt) {
      headers.delete("authorization");
      headers.delete("x-session-token");
    }
    const cred = extractCredentials(req.headers, memoFor(connection));
    // The app gets the Cookie header without repeated or disguised session cookies.
    const appCookie = cred?.appCookie;
    if (appCookie !== undefined) {
      if (appCookie === "") headers.delete("cookie");
      else headers.set("cookie", appCookie);
    }
    if (cred === undefined || cred.key === "") {
      return protectedPath ? deny(req, url) : undefined;
    }

    // A fresh cached answer is used without a trip through the promise machinery.
    const cached = options.cache.peek(cred.key);
    metrics.sessionCache(cached !== undefined);
    if (cached !== undefined) return decide(req, headers, url, cached, protectedPath, facts);
    return lookup(cred, headers.get("x-request-id")).then((entry) =>
      decide(req, headers, url, entry, protectedPath, facts)
    );
  };
}

function wantsHtml(req: ProxyRequest): boolean {
  const mode = req.headers.get("sec-fetch-mode");
  if (mode !== null) return mode === "navigate";
  return (req.method === "GET" || req.method === "HEAD") &&
    (req.headers.get("accept") ?? "").includes("text/html");
}

/** A browser navigation is sent to log in; any other client gets a 401. */
function loginOr401(req: ProxyRequest, url: URL, options: SessionGateOptions): Response {
  const returnTo = options.publishOrigin + url.pathname + url.search;
  const login = `${options.oryPublicBase}/self-service/login/browser?return_to=${
    encodeURIComponent(returnTo)
  }`;
  if (wantsHtml(req)) {
    return new Response(null, {
      status: 303,
      headers: { location: login, "cache-control": "no-store" },
    });
  }
  return Response.json({
    error: {
      code: 401,
      status: "Unauthorized",
      reason: "This path requires a signed-in Ory session.",
      login_url: login,
    },
  }, {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="orygate"', "cache-control": "no-store" },
  });
}

function unavailable(retryAfter: number | undefined): Response {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  return Response.json({
    error: {
      code: 503,
      status: "Service Unavailable",
      reason: "The session could not be checked with Ory; try again shortly.",
    },
  }, { status: 503, headers });
}
