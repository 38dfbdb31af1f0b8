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
 * 5. Protected paths with a session that fails a rule (`access_rules.ts`): browsers go to the
 *    Ory flow that fixes it (verification, login with `aal=aal2`), other clients get 403 in
 *    Ory's error shape; an identity condition that fails is a 403 for all (`denials.ts`).
 * 6. With `--identity-headers`, an active session's `X-Ory-*` identity headers are set.
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
import { type Requirements, type RequirementsFor, unmetRequirement } from "./access_rules.ts";
import type { TtlCache } from "./cache.ts";
import {
  createCredentialMemo,
  type CredentialMemo,
  type Credentials,
  extractCredentials,
} from "./credentials.ts";
import { loginOr401, unavailable, unmetAnswer } from "./denials.ts";
import { identityHeaders } from "./identity_headers.ts";
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
  /** Its `--identity-headers`, built on first use. */
  identityHeaders?: readonly (readonly [string, string])[];
}

/** Gate settings and effects. */
export interface SessionGateOptions {
  readonly whoami: Whoami;
  readonly cache: TtlCache<SessionEntry>;
  /** How long a whoami answer is reused. */
  readonly cacheTtlMs: number;
  /** Mints a JWT; undefined with `--no-jwt` (protection only, headers untouched). */
  readonly mint?: (session: OrySession, expiresAt: number | undefined) => Promise<MintedToken>;
  /** What a path needs (the compiled rule flags); undefined where no rule applies. */
  readonly requirementsFor: RequirementsFor;
  /** Set `X-Ory-Identity-Id` and the others for active sessions (`--identity-headers`). */
  readonly identityHeaders?: boolean;
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
  const withHeaders = options.identityHeaders === true;
  const metrics = options.metrics ?? NO_METRICS;
  const deny = (req: ProxyRequest, url: URL) => {
    const answer = loginOr401(req, url, options);
    metrics.protectionDenial(answer.status === 401 ? "unauthorized" : "redirect");
    return answer;
  };
  const refuse = (answer: Response) => {
    metrics.protectionDenial(answer.status === 303 ? "redirect" : "forbidden");
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

  /**
   * Sets the JWT (and identity headers) for an active session that meets the path's
   * requirements (`needs`, undefined on paths without rules), or answers instead.
   */
  const decide = (
    req: ProxyRequest,
    headers: Headers,
    url: URL,
    entry: SessionEntry,
    needs: Requirements | undefined,
    facts: GateFacts | undefined,
  ): Response | undefined | Promise<Response | undefined> => {
    const { result } = entry;
    if (result.kind === "active" && (result.expiresAt === undefined || result.expiresAt > now())) {
      if (facts !== undefined) facts.identityId = result.session.identity?.id;
      const unmet = needs === undefined ? undefined : unmetRequirement(result.session, needs);
      if (unmet !== undefined) return refuse(unmetAnswer(unmet, req, url, options));
      // Only an admitted request's answer is followed (a refusal is orygate's own, and short).
      if (facts !== undefined) facts.session = entry.admitted;
      if (withHeaders) {
        for (const [name, value] of entry.identityHeaders ??= identityHeaders(result.session)) {
          headers.set(name, value);
        }
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
      if (needs === undefined) return undefined;
      metrics.protectionDenial("unavailable");
      return unavailable(result.retryAfter);
    }
    if (needs === undefined) return undefined;
    // Kratos would not describe the session below AAL2: a plain login would find the session
    // and send the browser straight back here.
    if (result.kind === "aal2_required") return refuse(unmetAnswer("aal2", req, url, options));
    return deny(req, url);
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
    const needs = options.requirementsFor(url.pathname);
    if (!jwt && needs === undefined && !withHeaders) return undefined;
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
      return needs !== undefined ? deny(req, url) : undefined;
    }

    // A fresh cached answer is used without a trip through the promise machinery.
    const cached = options.cache.peek(cred.key);
    metrics.sessionCache(cached !== undefined);
    if (cached !== undefined) return decide(req, headers, url, cached, needs, facts);
    return lookup(cred, headers.get("x-request-id")).then((entry) =>
      decide(req, headers, url, entry, needs, facts)
    );
  };
}
