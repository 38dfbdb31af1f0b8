/**
 * The example app's routes: one `(Request) => Promise<Response>` handler.
 *
 * @module
 */

import { errorMessage, renderFlow } from "./flow_view.ts";
import { type Html, markup, page, SITE_NAME } from "./html.ts";
import { browserFlowUrl, createLogoutUrl, type FlowKind, getError, getFlow } from "./ory.ts";
import { echoSocket, eventStream, livePage } from "./live.ts";
import { emailOf, hasVerifiedEmail, type SessionClaims, type SessionVerifier } from "./session.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  /** orygate's `<publish-url>/.ory`, e.g. `http://localhost:4455/.ory`. */
  oryUrl: string;
  /** Verifies orygate's bearer JWT (see `createSessionVerifier`). */
  verify: SessionVerifier;
  /** Injected for tests. Default: the global `fetch`. */
  fetch?: typeof fetch;
}

const FLOW_TITLES: Record<FlowKind, string> = {
  login: "Sign in",
  registration: "Sign up",
  settings: "Account settings",
  verification: "Verify your email address",
};

/** What `orygate --identity-headers` adds (shown next to the JWT's claims, for comparison). */
const IDENTITY_HEADERS = [
  "X-Ory-Identity-Id",
  "X-Ory-Session-Id",
  "X-Ory-Identity-Email",
  "X-Ory-Aal",
];

/**
 * Creates the app's request handler.
 *
 * @example
 * ```ts ignore
 * const oryUrl = "http://localhost:4455/.ory";
 * const app = createApp({ oryUrl, verify: createSessionVerifier(`${oryUrl}/jwks.json`) });
 * Deno.serve({ port: 3000 }, app);
 * ```
 */
export function createApp(options: AppOptions): (request: Request) => Promise<Response> {
  const { oryUrl, verify } = options;

  return async (request) => {
    const url = new URL(request.url);
    const cookie = request.headers.get("cookie");
    const ory = { cookie, fetch: options.fetch };
    if (request.method !== "GET" && request.method !== "HEAD") {
      return page("Method not allowed", markup`<p>Use GET.</p>`, { status: 405 });
    }

    switch (url.pathname) {
      case "/":
        return home(await verify(request));

      case "/login":
      case "/registration":
      case "/settings":
      case "/verification": {
        const kind = url.pathname.slice(1) as FlowKind;
        const flowId = url.searchParams.get("flow");
        const restart = () =>
          redirect(browserFlowUrl(oryUrl, kind, url.searchParams.get("return_to")));
        if (!flowId) return restart();
        const result = await getFlow(oryUrl, kind, flowId, ory);
        if (result.ok) {
          const { flow } = result;
          return page(
            FLOW_TITLES[kind],
            markup`${renderFlow(flow)}${switchFlowLink(oryUrl, kind, flow.return_to)}`,
            {},
            { returnTo: flow.return_to },
          );
        }
        // Expired or unknown flow, or no session for settings: start a new flow. Anything else
        // (such as a CSRF mismatch) is shown, not retried, so it cannot loop.
        if ([401, 404, 410].includes(result.status)) return restart();
        return page(
          "Something went wrong",
          markup`<p class="message error" data-testid="flow-error">
Ory answered ${result.status}: ${errorMessage(result.error)}</p>`,
          { status: result.status },
        );
      }

      case "/error": {
        const id = url.searchParams.get("id");
        const error = id ? await getError(oryUrl, id, ory) : { error: { message: "No error id." } };
        return page(
          "Error",
          markup`<p class="message error" data-testid="ory-error">${errorMessage(error)}</p>
<pre data-testid="ory-error-json">${JSON.stringify(error, null, 2)}</pre>`,
        );
      }

      case "/members":
        return members(request, url.pathname, await verify(request), oryUrl);

      case "/live":
        return livePage();

      case "/events":
        return eventStream();

      case "/echo":
        return echoSocket(request);

      case "/logout": {
        const logoutUrl = await createLogoutUrl(oryUrl, ory);
        return redirect(logoutUrl ?? "/");
      }

      case "/api/me": {
        const claims = await verify(request);
        return claims ? Response.json(claims) : Response.json({ error: "unauthorized" }, {
          status: 401,
          headers: { "www-authenticate": 'Bearer realm="orygate-example"' },
        });
      }

      default:
        if (url.pathname.startsWith("/members/")) {
          return members(request, url.pathname, await verify(request), oryUrl);
        }
        return page(
          "Not found",
          markup`<p data-testid="not-found">No page at ${url.pathname}.</p>`,
          {
            status: 404,
          },
        );
    }
  };
}

/**
 * Sign-in pages link to sign-up and back, carrying the flow's `return_to` as Ory's own account
 * UI does: whoever was sent to sign in from /members and signs up instead still lands there.
 */
function switchFlowLink(oryUrl: string, kind: FlowKind, returnTo: string | undefined): Html {
  if (kind === "settings" || kind === "verification") return markup``;
  const other: FlowKind = kind === "login" ? "registration" : "login";
  const href = browserFlowUrl(oryUrl, other, returnTo);
  return kind === "login"
    ? markup`<p data-testid="switch-flow">No account yet? <a href="${href}" data-testid="link-registration">Sign up</a></p>
`
    : markup`<p data-testid="switch-flow">Already have an account? <a href="${href}" data-testid="link-login">Sign in</a></p>
`;
}

/**
 * /members and every page below it (for trying rules such as `--require-aal2 /members/mfa`):
 * who is signed in, at which assurance level, whether the email is verified, from the JWT.
 */
function members(
  request: Request,
  pathname: string,
  claims: SessionClaims | null,
  oryUrl: string,
): Response {
  if (!claims) return unauthorized(new URL(pathname, oryUrl).href);
  const email = emailOf(claims);
  const aal = claims.session?.authenticator_assurance_level;
  const verified = hasVerifiedEmail(claims) ? "verified" : "not verified";
  const headers = IDENTITY_HEADERS.filter((name) => request.headers.has(name));
  // Shown for comparison only: this app trusts the JWT, whose signature it checks.
  const headerList = headers.length === 0
    ? markup``
    : markup`<p>Identity headers from orygate (<code>--identity-headers</code>):</p>
<ul data-testid="identity-headers">${
      headers.map((name) =>
        markup`<li>${name}: <code data-testid="${`identity-header-${name.toLowerCase()}`}">${
          request.headers.get(name)
        }</code></li>`
      )
    }</ul>
`;
  return page(
    "Members",
    markup`<p data-testid="member-greeting">Welcome, <strong data-testid="member-email">${email}</strong>!</p>
<p>Page <code data-testid="member-path">${pathname}</code>; assurance level
<strong data-testid="member-aal">${aal}</strong>; email
<strong data-testid="member-email-verified">${verified}</strong>.</p>
${headerList}<p>Identity <code data-testid="member-identity-id">${claims.sub}</code>. This page trusts only the
JWT that orygate signed, verified against <code>${oryUrl}/jwks.json</code>:</p>
<pre data-testid="member-claims">${JSON.stringify(claims, null, 2)}</pre>`,
  );
}

function home(claims: SessionClaims | null): Response {
  const email = emailOf(claims);
  return page(
    SITE_NAME,
    claims
      ? markup`<p data-testid="signed-in">Signed in as <strong data-testid="home-email">${email}</strong>.</p>`
      : markup`<p data-testid="signed-out">You are not signed in.</p>`,
  );
}

function unauthorized(returnTo: string): Response {
  const login = `/login?${new URLSearchParams({ return_to: returnTo })}`;
  return page(
    "Unauthorized",
    markup`<p class="message error" data-testid="unauthorized">This page needs a session.
<a href="${login}" data-testid="unauthorized-login">Sign in</a>.</p>`,
    { status: 401 },
  );
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}
