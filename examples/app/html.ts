/**
 * Safe HTML for the example app: everything interpolated into {@link markup} is escaped unless it
 * is itself the result of {@link markup} or {@link attributes}.
 *
 * (The tag is not called `html` on purpose: `deno fmt` reformats `html` templates.)
 *
 * @module
 */

/** A piece of HTML that is already safe to emit. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/**
 * Escapes the five characters that matter in HTML text and attribute values.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * console.assert(escapeHtml(`<a href="x">&'`) === "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Tagged template that escapes its values. Arrays are joined; `null`, `undefined` and `false`
 * render nothing.
 *
 * @example
 * ```ts
 * import { markup } from "./html.ts";
 * const name = "<script>";
 * console.assert(markup`<p>${name}</p>`.value === "<p>&lt;script&gt;</p>");
 * ```
 */
export function markup(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return new Html(out);
}

/**
 * Renders attributes, escaped: `true` gives a bare attribute, `false`/`null`/`undefined` none.
 *
 * @example
 * ```ts
 * import { attributes } from "./html.ts";
 * const a = attributes({ name: 'a"b', required: true, disabled: false });
 * console.assert(a.value === ' name="a&quot;b" required');
 * ```
 */
export function attributes(
  attrs: Record<string, string | number | boolean | null | undefined>,
): Html {
  let out = "";
  for (const [name, value] of Object.entries(attrs)) {
    if (value === true) out += ` ${name}`;
    else if (value !== false && value !== null && value !== undefined) {
      out += ` ${name}="${escapeHtml(String(value))}"`;
    }
  }
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/** The site's name: the home page's title, and the suffix of every other page's. */
export const SITE_NAME = "orygate example";

const STYLE = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
nav a { margin-right: 1rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f4f4f4; padding: .5rem; }
code { overflow-wrap: anywhere; }
label { display: block; margin: .75rem 0; }
input:not([type=hidden]) { display: block; width: 100%; padding: .4rem; box-sizing: border-box; }
.message { padding: .5rem; border-left: 4px solid #888; background: #f4f4f4; }
.message.error { border-color: #c00; }
form { margin: 1rem 0; }
`;

/** Options of {@link page}. */
export interface PageOptions {
  /** Where a sign-in or sign-up started from here should return (a flow's `return_to`). */
  returnTo?: string;
}

/** An HTML response with the app's page layout (title, navigation) around `body`. */
export function page(
  title: string,
  body: Html,
  init: ResponseInit = {},
  options: PageOptions = {},
): Response {
  const query = options.returnTo ? `?${new URLSearchParams({ return_to: options.returnTo })}` : "";
  const document = markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title === SITE_NAME ? SITE_NAME : `${title} · ${SITE_NAME}`}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<nav data-testid="nav">
  <a href="/" data-testid="nav-home">Home</a>
  <a href="/registration${query}" data-testid="nav-registration">Sign up</a>
  <a href="/login${query}" data-testid="nav-login">Sign in</a>
  <a href="/members" data-testid="nav-members">Members</a>
  <a href="/settings" data-testid="nav-settings">Settings</a>
  <a href="/logout" data-testid="nav-logout">Sign out</a>
</nav>
<main>
<h1 data-testid="page-title">${title}</h1>
${body}
</main>
</body>
</html>
`;
  const headers = new Headers(init.headers);
  headers.set("content-type", "text/html; charset=utf-8");
  return new Response(document.value, { ...init, headers });
}
