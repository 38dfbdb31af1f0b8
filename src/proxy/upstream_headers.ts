/**
 * Builds the headers for a request going upstream: hop-by-hop and Ory control headers
 * removed, `Host` chosen by the caller, `X-Forwarded-*` set.
 *
 * `X-Forwarded-Host`, `-Proto` and `-Port` describe the publish URL, not the client's `Host`,
 * so an upstream that builds absolute URLs from them can never be steered by a forged `Host`.
 * The client's own copies of headers that frameworks read for the same facts are never
 * forwarded: `Forwarded` (RFC 7239; Spring, Quarkus and others prefer it to `X-Forwarded-*`),
 * `X-Forwarded-Prefix`, and `True-Client-IP` (preferred by chi's RealIP and others);
 * `X-Real-IP` is replaced by the client's TCP address, as nginx setups set it, and the other
 * client-address and original-host headers libraries consult (`X-Client-IP`,
 * `CF-Connecting-IP`, `X-Original-Host`, … see DROPPED) are dropped. Path
 * overrides that some frameworks honour (`X-Original-URL`, `X-Rewrite-URL`) would route the
 * app to a path orygate never checked: dropped. Names with `_` are dropped too, as nginx does
 * by default (`underscores_in_headers off`): CGI-style servers (WSGI, Rack) fold `X_Real_IP`
 * and `X-Real-IP` into one variable, past every check on the dashed name.
 * `X-Forwarded-For` is appended to, as nginx and Go's ReverseProxy do. The identity headers
 * (`X-Ory-Identity-Id`, `X-Ory-Session-Id`, `X-Ory-Identity-Email`, `X-Ory-Aal`) are
 * orygate's to set (`--identity-headers`): a client's copies are always dropped.
 *
 * @example
 * ```ts
 * import { buildUpstreamHeaders } from "./upstream_headers.ts";
 * const req = new Request("http://localhost:4000/", { headers: { "ory-base-url-rewrite": "x" } });
 * const h = buildUpstreamHeaders(req, {
 *   host: "127.0.0.1:3000",
 *   clientIp: "127.0.0.1",
 *   publishUrl: new URL("http://localhost:4000"),
 * });
 * h.has("ory-base-url-rewrite"); // false
 * ```
 */
import { FieldList } from "../http1/field_list.ts";
import { connectionListed, HOP_BY_HOP_HEADERS } from "./hop_by_hop.ts";
import { ORY_CONTROL_HEADERS, ORY_IDENTITY_HEADERS } from "./ory_headers.ts";

/** What {@linkcode buildUpstreamHeaders} needs. */
export interface UpstreamHeaderOptions {
  /** The `Host` to send. */
  readonly host: string;
  /** The client's address, appended to `X-Forwarded-For`. */
  readonly clientIp?: string;
  readonly publishUrl: URL;
  /** The request's ID (`request_id.ts`), sent as `X-Request-Id` in place of the client's. */
  readonly requestId?: string;
}

/** Returns a new `Headers` for the upstream request. */
export function buildUpstreamHeaders(
  req: { readonly headers: Headers },
  options: UpstreamHeaderOptions,
): Headers {
  // One pass over the client's headers (copying, then deleting a dozen names, cost several
  // times more per request). Headers named by `Connection` are hop-by-hop too.
  const listed = req.headers.get("connection");
  const extra = listed === null ? undefined : new Set(connectionListed(listed));
  const headers = new FieldList();
  let forwardedFor: string | undefined;
  req.headers.forEach((value, name) => {
    if (DROPPED.has(name) || extra?.has(name) || name.includes("_")) return;
    if (name === "x-forwarded-for") {
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    } else headers.appendTrusted(name, value); // from a Headers: already valid, lower-case
  });
  headers.set("host", options.host);
  if (options.requestId !== undefined) headers.set("x-request-id", options.requestId);
  const ip = options.clientIp;
  const chain = ip === undefined ? forwardedFor : forwardedFor ? `${forwardedFor}, ${ip}` : ip;
  if (chain !== undefined) headers.set("x-forwarded-for", chain);
  if (ip !== undefined) headers.set("x-real-ip", ip);
  const publish = options.publishUrl;
  headers.set("x-forwarded-host", publish.host);
  headers.set("x-forwarded-proto", publish.protocol === "https:" ? "https" : "http");
  headers.set("x-forwarded-port", publish.port || (publish.protocol === "https:" ? "443" : "80"));
  return headers;
}

/**
 * Never copied upstream: hop-by-hop, Ory's control headers, the identity headers only
 * orygate may set (`X-Ory-Identity-Id`, …), and the ones set here.
 */
const DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS,
  ...ORY_CONTROL_HEADERS,
  ...ORY_IDENTITY_HEADERS,
  "host",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-real-ip",
  "forwarded",
  "true-client-ip",
  "x-original-url",
  "x-rewrite-url",
  // Client addresses and hosts that libraries read before X-Forwarded-For (request-ip takes
  // X-Client-IP first): only orygate speaks for the client's address here.
  "x-client-ip",
  "client-ip",
  "x-cluster-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-forwarded",
  "forwarded-for",
  "x-host",
  "x-original-host",
  "x-forwarded-server",
  "x-forwarded-uri",
  "x-original-uri",
  "x-envoy-original-path",
  // Replaced by the request's ID, which is the client's when it is valid.
  "x-request-id",
]);
