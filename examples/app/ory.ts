/**
 * The few Ory (Kratos) calls the example app makes. All go to `oryUrl`, which is orygate's
 * `<publish-url>/.ory`, with the browser's `Cookie` header forwarded: browser flows are bound to
 * the CSRF cookie, and logout needs the session cookie.
 *
 * @module
 */

/** The self-service flows the app renders. */
export type FlowKind = "login" | "registration" | "settings" | "verification";

/** A message Kratos attaches to a flow or a field. */
export interface UiText {
  id: number;
  text: string;
  type: "info" | "error" | "success" | string;
}

/** One element of a flow's form (`ui.nodes[]`). */
export interface UiNode {
  type: "input" | "text" | "img" | "a" | "script" | string;
  group: string;
  attributes: {
    name?: string;
    type?: string;
    value?: unknown;
    required?: boolean;
    disabled?: boolean;
    autocomplete?: string;
    href?: string;
    src?: string;
    id?: string;
    text?: UiText;
  };
  messages: UiText[];
  meta: { label?: UiText };
}

/** A self-service flow as returned by `GET /self-service/<kind>/flows?id=`. */
export interface Flow {
  id: string;
  return_to?: string;
  ui: { action: string; method: string; nodes: UiNode[]; messages?: UiText[] };
}

/** The answer to fetching a flow: the flow, or Kratos's error status and body. */
export type FlowResult =
  | { ok: true; flow: Flow }
  | { ok: false; status: number; error: unknown };

/** Options shared by the calls below. */
export interface OryOptions {
  /** The browser's `Cookie` header, forwarded as is. */
  cookie?: string | null;
  /** Injected for tests. Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * The URL that starts a browser flow; Kratos answers with a redirect to the app's UI page.
 *
 * @example
 * ```ts
 * import { browserFlowUrl } from "./ory.ts";
 * const url = browserFlowUrl("http://localhost:4455/.ory", "login", "http://localhost:4455/members");
 * console.assert(url.endsWith("/login/browser?return_to=http%3A%2F%2Flocalhost%3A4455%2Fmembers"));
 * ```
 */
export function browserFlowUrl(oryUrl: string, kind: FlowKind, returnTo?: string | null): string {
  const url = new URL(`${oryUrl}/self-service/${kind}/browser`);
  if (returnTo) url.searchParams.set("return_to", returnTo);
  return url.href;
}

/** Fetches a browser flow by id. */
export async function getFlow(
  oryUrl: string,
  kind: FlowKind,
  id: string,
  options: OryOptions = {},
): Promise<FlowResult> {
  const url = new URL(`${oryUrl}/self-service/${kind}/flows`);
  url.searchParams.set("id", id);
  const response = await oryFetch(url, options);
  const body = await response.json().catch(() => null);
  return response.ok
    ? { ok: true, flow: body as Flow }
    : { ok: false, status: response.status, error: body };
}

/** Fetches a self-service error (`/error?id=`) for display. */
export async function getError(
  oryUrl: string,
  id: string,
  options: OryOptions = {},
): Promise<unknown> {
  const url = new URL(`${oryUrl}/self-service/errors`);
  url.searchParams.set("id", id);
  const response = await oryFetch(url, options);
  return await response.json().catch(() => ({ status: response.status }));
}

/** Asks Kratos for a logout URL for the session in `cookie`; `null` when there is no session. */
export async function createLogoutUrl(
  oryUrl: string,
  options: OryOptions = {},
): Promise<string | null> {
  const response = await oryFetch(new URL(`${oryUrl}/self-service/logout/browser`), options);
  if (!response.ok) {
    await response.body?.cancel();
    return null;
  }
  const { logout_url: logoutUrl } = await response.json() as { logout_url: string };
  return logoutUrl;
}

function oryFetch(url: URL, { cookie, fetch: fetchFn = fetch }: OryOptions): Promise<Response> {
  const headers = new Headers({ accept: "application/json" });
  if (cookie) headers.set("cookie", cookie);
  return fetchFn(url, { headers, redirect: "manual" });
}
