/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, so a proxy removes them
 * in both directions, together with every header the `Connection` header names.
 *
 * @example
 * ```ts
 * import { removeHopByHop } from "./hop_by_hop.ts";
 * const h = new Headers({ connection: "keep-alive, x-secret", "x-secret": "1", te: "trailers" });
 * removeHopByHop(h);
 * [...h.keys()]; // []
 * ```
 */

/** The fixed list from RFC 9110 §7.6.1 plus the non-standard ones still seen in the wild. */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
];

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Removes hop-by-hop headers (and those listed in `Connection`) from `headers` in place. */
export function removeHopByHop(headers: Headers): void {
  const connection = headers.get("connection");
  if (connection !== null) {
    for (const name of connection.split(",")) {
      const trimmed = name.trim();
      if (TOKEN.test(trimmed)) headers.delete(trimmed);
    }
  }
  for (const name of HOP_BY_HOP_HEADERS) headers.delete(name);
}
