/**
 * The gate's answers when a request may not reach the application. Browser navigations are
 * sent (303) to the Ory flow that fixes what is missing, with `return_to` the URL they asked
 * for on the publish origin; other clients get JSON:
 *
 * - no session: login, or 401;
 * - an email address to verify: the verification flow, or 403 with Kratos's error id
 *   `session_verified_address_required` and `redirect_browser_to`;
 * - AAL2 needed: login with `aal=aal2`, or 403 exactly as Kratos's own `session_aal2_required`
 *   (`session/manager.go` `NewErrAALNotSatisfied` in Kratos v1.3.1);
 * - an identity condition that fails: 403 for everyone (HTML for browsers), since no flow can
 *   fix it and a redirect would loop;
 * - Ory unavailable: 503, with `Retry-After` when Ory was rate limiting.
 *
 * Error bodies have the shape of Ory's (herodot's) JSON errors: `{"error": {id, code, status,
 * reason, details, message}}`, with `redirect_browser_to` beside `error` as Kratos adds it.
 *
 * @example
 * ```ts
 * import { unmetAnswer } from "./denials.ts";
 * const req = new Request("http://localhost:4000/billing", { headers: { accept: "application/json" } });
 * const res = unmetAnswer("aal2", req, new URL(req.url), {
 *   publishOrigin: "http://localhost:4000",
 *   oryPublicBase: "http://localhost:4000/.ory",
 * });
 * res.status; // 403
 * ```
 */
import type { ProxyRequest } from "../http1/message.ts";
import type { UnmetRequirement } from "./access_rules.ts";

/** Where answers send people: the publish origin and Ory's base on it (`/.ory`, or the root). */
export interface DenialUrls {
  readonly publishOrigin: string;
  readonly oryPublicBase: string;
}

const NO_STORE = "no-store";

/** Whether the client is a browser navigating (it can follow a redirect to an Ory flow). */
function wantsHtml(req: ProxyRequest): boolean {
  const mode = req.headers.get("sec-fetch-mode");
  if (mode !== null) return mode === "navigate";
  return (req.method === "GET" || req.method === "HEAD") &&
    (req.headers.get("accept") ?? "").includes("text/html");
}

/** `<oryPublicBase><flow>` with `return_to` set to the request's URL on the publish origin. */
function flowUrl(flow: string, url: URL, where: DenialUrls): string {
  const returnTo = where.publishOrigin + url.pathname + url.search;
  const join = flow.includes("?") ? "&" : "?";
  return `${where.oryPublicBase}${flow}${join}return_to=${encodeURIComponent(returnTo)}`;
}

function seeOther(location: string): Response {
  return new Response(null, {
    status: 303,
    headers: { location, "cache-control": NO_STORE },
  });
}

/** A browser navigation is sent to log in; any other client gets a 401. */
export function loginOr401(req: ProxyRequest, url: URL, where: DenialUrls): Response {
  const login = flowUrl("/self-service/login/browser", url, where);
  if (wantsHtml(req)) return seeOther(login);
  return Response.json({
    error: {
      code: 401,
      status: "Unauthorized",
      reason: "This path requires a signed-in Ory session.",
      login_url: login,
    },
  }, {
    status: 401,
    headers: { "www-authenticate": 'Bearer realm="orygate"', "cache-control": NO_STORE },
  });
}

/** The answer to a session that exists but fails `unmet`. */
export function unmetAnswer(
  unmet: UnmetRequirement,
  req: ProxyRequest,
  url: URL,
  where: DenialUrls,
): Response {
  if (unmet === "identity") return wantsHtml(req) ? forbiddenPage() : forbiddenJson();
  const redirect = unmet === "aal2"
    ? flowUrl("/self-service/login/browser?aal=aal2", url, where)
    : flowUrl("/self-service/verification/browser", url, where);
  if (wantsHtml(req)) return seeOther(redirect);
  return unmet === "aal2"
    ? oryError({
      id: "session_aal2_required",
      reason:
        "An active session was found but it does not fulfill the requested Authenticator Assurance Level. Please verify yourself with a second factor to resolve this issue.",
      message: "Session does not fulfill the requested Authenticator Assurance Level",
    }, redirect)
    : oryError({
      id: "session_verified_address_required",
      reason:
        "This path requires a verified email address. Please verify your email address and try again.",
      message: "your email address is not yet verified",
    }, redirect);
}

/** herodot's `ErrForbidden`, with a reason that does not say which condition failed. */
function forbiddenJson(): Response {
  return oryError({
    reason: "The identity does not meet the requirements of this path.",
    message: "The requested action was forbidden",
  });
}

const FORBIDDEN_HTML = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>403 Forbidden</title>
<h1>403 Forbidden</h1>
<p>You are signed in, but your account may not open this page.</p>
</html>
`;

function forbiddenPage(): Response {
  return new Response(FORBIDDEN_HTML, {
    status: 403,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": NO_STORE },
  });
}

/** A 403 in Ory's error shape; with `redirect`, `redirect_browser_to` as Kratos sets it. */
function oryError(
  fields: { readonly id?: string; readonly reason: string; readonly message: string },
  redirect?: string,
): Response {
  // Kratos's (Go's) field order: id, code, status, reason, details, message.
  const error = {
    ...(fields.id === undefined ? {} : { id: fields.id }),
    code: 403,
    status: "Forbidden",
    reason: fields.reason,
    ...(redirect === undefined ? {} : { details: { redirect_browser_to: redirect } }),
    message: fields.message,
  };
  const body = redirect === undefined ? { error } : { error, redirect_browser_to: redirect };
  return Response.json(body, { status: 403, headers: { "cache-control": NO_STORE } });
}

/** Ory could not be asked: 503, never a pass-through or a login redirect. */
export function unavailable(retryAfter: number | undefined): Response {
  const headers: Record<string, string> = { "cache-control": NO_STORE };
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
  return Response.json({
    error: {
      code: 503,
      status: "Service Unavailable",
      reason: "The session could not be checked with Ory; try again shortly.",
    },
  }, { status: 503, headers });
}
