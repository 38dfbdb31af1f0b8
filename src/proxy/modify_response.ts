/**
 * Turns an upstream's answer into the client's: hop-by-hop headers removed, `Location` and
 * `Set-Cookie` moved onto the publish URL, and for Ory's text bodies absolute Ory URLs
 * rewritten (decoded first, under a size cap). Application bodies are never touched.
 *
 * @example
 * ```ts ignore
 * const res = await modifyResponse(upstreamResponse, { ...options });
 * ```
 */
import { type LocationRewrite, rewriteLocation } from "../rewrite/location.ts";
import { rewriteSetCookie, type SetCookieRewrite } from "../rewrite/set_cookie.ts";
import { isRewritableType } from "../rewrite/body.ts";
import { canDecode, readDecodedText } from "./decode_body.ts";
import { removeHopByHop } from "./hop_by_hop.ts";
import type { ProxyResult } from "../http1/message.ts";
import type { UpstreamResponse } from "../http1/upstream.ts";

/** How to modify one response. */
export interface ModifyResponseOptions {
  readonly location: LocationRewrite;
  readonly cookies: SetCookieRewrite;
  /** Rewrites Ory text bodies; undefined leaves the body alone (application responses). */
  readonly rewriteBody?: (text: string) => string;
  /** Cap on a decoded body read for rewriting. */
  readonly maxRewriteBytes: number;
}

/** Builds the response for the client. Throws ERR_BODY_TOO_LARGE when a body is over the cap. */
export async function modifyResponse(
  upstream: UpstreamResponse,
  options: ModifyResponseOptions,
): Promise<ProxyResult> {
  const headers = upstream.headers;
  removeHopByHop(headers);

  const location = headers.get("location");
  if (location !== null) headers.set("location", rewriteLocation(location, options.location));

  const cookies = headers.getSetCookie();
  if (cookies.length > 0) {
    headers.delete("set-cookie");
    for (const c of cookies) headers.append("set-cookie", rewriteSetCookie(c, options.cookies));
  }

  // A small body that arrived whole with its head stays bytes: a server sends bytes far more
  // cheaply than a stream (tens of microseconds per request).
  let body = upstream.body;
  const contentEncoding = headers.get("content-encoding");
  if (
    options.rewriteBody !== undefined && upstream.body !== null &&
    isRewritableType(headers.get("content-type")) && isUtf8(headers.get("content-type")) &&
    canDecode(contentEncoding)
  ) {
    const text = await readDecodedText(upstream.body, contentEncoding, options.maxRewriteBytes);
    body = encoder.encode(options.rewriteBody(text));
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
  return {
    status: upstream.status,
    statusText: upstream.statusText,
    headers,
    body,
    upgraded: upstream.upgraded,
  };
}

const encoder = new TextEncoder();

function isUtf8(contentType: string | null): boolean {
  const charset = /;\s*charset="?([^";\s]+)/i.exec(contentType ?? "")?.[1]?.toLowerCase();
  return charset === undefined || charset === "utf-8" || charset === "utf8" ||
    charset === "us-ascii";
}
