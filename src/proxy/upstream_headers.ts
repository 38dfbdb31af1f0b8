/**
 * Builds the headers for a request going upstream: hop-by-hop and Ory control headers
 * removed, `Host` chosen by the caller, `X-Forwarded-*` set.
 *
 * `X-Forwarded-Host` and `-Proto` describe the publish URL, not the client's `Host`, so an
 * upstream that builds absolute URLs from them can never be steered by a forged `Host`.
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
import { removeHopByHop } from "./hop_by_hop.ts";
import { ORY_CONTROL_HEADERS } from "./ory_headers.ts";

/** What {@linkcode buildUpstreamHeaders} needs. */
export interface UpstreamHeaderOptions {
  /** The `Host` to send. */
  readonly host: string;
  /** The client's address, appended to `X-Forwarded-For`. */
  readonly clientIp?: string;
  readonly publishUrl: URL;
}

/** Returns a new `Headers` for the upstream request. */
export function buildUpstreamHeaders(req: Request, options: UpstreamHeaderOptions): Headers {
  const headers = new Headers(req.headers);
  removeHopByHop(headers);
  for (const name of ORY_CONTROL_HEADERS) headers.delete(name);
  headers.set("host", options.host);
  if (options.clientIp !== undefined) {
    const prior = headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", prior ? `${prior}, ${options.clientIp}` : options.clientIp);
  }
  headers.set("x-forwarded-host", options.publishUrl.host);
  headers.set("x-forwarded-proto", options.publishUrl.protocol.slice(0, -1));
  return headers;
}
