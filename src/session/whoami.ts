/**
 * Asks Ory who a credential belongs to (`GET /sessions/whoami`). Ory's rate limiting (429)
 * is retried with backoff within a short budget and then reported as an error, never as
 * "no session", so a rate-limited user is not sent to log in again.
 *
 * @example
 * ```ts ignore
 * const whoami = createWhoami({ oryBase: "http://127.0.0.1:4433" });
 * const result = await whoami({ key: "k", cookie: "ory_kratos_session=abc" });
 * ```
 */
import type { OrySession } from "../jwt/mint.ts";
import { describeFetchError } from "../runtime/fetch_error.ts";
import type { Credentials } from "./credentials.ts";

/** What Ory said. */
export type WhoamiResult =
  | { readonly kind: "active"; readonly session: OrySession; readonly expiresAt?: number }
  | { readonly kind: "none" }
  /**
   * A session exists but Ory will not describe it below AAL2: Kratos's whoami answers 403
   * `session_aal2_required` when `session.whoami.required_aal` is `highest_available` and the
   * identity has a second factor the session has not used.
   */
  | { readonly kind: "aal2_required" }
  | {
    readonly kind: "error";
    readonly reason: string;
    /** Seconds a client should wait, when Ory was rate limiting. */
    readonly retryAfter?: number;
  };

/**
 * Asks Ory about one credential; `requestId` (the request's `X-Request-Id`) goes along, so
 * Ory's logs name the request that asked.
 */
export type Whoami = (credentials: Credentials, requestId?: string) => Promise<WhoamiResult>;

/** Effects and limits. */
export interface WhoamiOptions {
  /** Ory's API base URL, no trailing slash (`Config.oryBase`). */
  readonly oryBase: string;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Per-attempt timeout (default 10 s). */
  readonly timeoutMs?: number;
  /** Total time allowed for 429 retries (default 2 s). */
  readonly retryBudgetMs?: number;
  /** Extra headers for Ory (e.g. `Ory-RateLimit-Action`). */
  readonly headers?: Readonly<Record<string, string>>;
}

const MAX_BODY = 1024 * 1024;

/** An identity id orygate can log and sign: visible ASCII, no spaces. */
const PLAIN_ID = /^[\x21-\x7e]+$/;

/** Creates a whoami client. */
export function createWhoami(options: WhoamiOptions): Whoami {
  const fetchFn = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const url = options.oryBase + "/sessions/whoami";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const budget = options.retryBudgetMs ?? 2000;

  return async (cred, requestId) => {
    const headers = new Headers({ accept: "application/json", ...options.headers });
    if (requestId !== undefined) headers.set("x-request-id", requestId);
    if (cred.cookie) headers.set("cookie", cred.cookie);
    if (cred.sessionToken) headers.set("x-session-token", cred.sessionToken);
    if (cred.authorization) headers.set("authorization", cred.authorization);
    let waited = 0;
    for (let attempt = 0;; attempt++) {
      let res: Response;
      try {
        res = await fetchFn(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        const cause = describeFetchError(err, { timeoutMs });
        return { kind: "error", reason: `Ory could not be reached: ${cause}` };
      }
      if (res.status === 429) {
        await res.body?.cancel();
        const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
        const delay = Math.min(100 * 2 ** attempt, 1000);
        if (waited + delay > budget) {
          return {
            kind: "error",
            reason: "Ory is rate limiting session checks",
            retryAfter: retryAfter ?? 1,
          };
        }
        await sleep(delay);
        waited += delay;
        continue;
      }
      if (res.status === 403) return await forbiddenKind(res);
      if (res.status === 401) {
        await res.body?.cancel();
        return { kind: "none" };
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return { kind: "error", reason: `Ory answered the session check with ${res.status}` };
      }
      let session: OrySession;
      try {
        const text = await res.text();
        if (text.length > MAX_BODY) throw new Error("too large");
        session = JSON.parse(text);
      } catch {
        return { kind: "error", reason: "Ory's session answer was not valid JSON" };
      }
      if (session?.active !== true) return { kind: "none" };
      // An active session must name its identity: a JWT with an empty `sub` names nobody
      // the app could look up, and some would take "" for a match.
      // It goes into the access log's text line and the JWT's `sub` as it is: visible ASCII
      // only (Kratos's are UUIDs), so a broken or hostile Ory cannot forge a log line with
      // CR/LF or hide one behind spaces and look-alike letters.
      if (typeof session.identity?.id !== "string" || !PLAIN_ID.test(session.identity.id)) {
        return { kind: "error", reason: "Ory's active session names no usable identity id" };
      }
      // Absent means no expiry known (the cache TTL bounds it); present but unreadable is an
      // answer orygate cannot honour, not a session that never expires.
      const expiry: unknown = session.expires_at;
      let expiresAt: number | undefined;
      if (expiry !== undefined && expiry !== null) {
        expiresAt = typeof expiry === "string" ? Date.parse(expiry) : NaN;
        if (!Number.isFinite(expiresAt)) {
          return { kind: "error", reason: "Ory's active session has an unreadable expires_at" };
        }
      }
      return { kind: "active", session, expiresAt };
    }
  };
}

/** A 403 from whoami: "needs AAL2" when Kratos says `session_aal2_required`, else no session. */
async function forbiddenKind(res: Response): Promise<WhoamiResult> {
  try {
    const text = await res.text();
    if (text.length <= MAX_BODY && JSON.parse(text)?.error?.id === "session_aal2_required") {
      return { kind: "aal2_required" };
    }
  } catch {
    // not JSON: no session, as before
  }
  return { kind: "none" };
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(1, Math.ceil((date - Date.now()) / 1000)) : undefined;
}
