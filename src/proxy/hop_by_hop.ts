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

const HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP_HEADERS);

/** The header names a `Connection` value lists (lower-cased; invalid names skipped). */
export function connectionListed(value: string): string[] {
  const names: string[] = [];
  for (const listed of value.split(",")) {
    const trimmed = listed.trim();
    if (TOKEN.test(trimmed)) names.push(trimmed.toLowerCase());
  }
  return names;
}

/** Removes hop-by-hop headers (and those listed in `Connection`) from `headers` in place. */
export function removeHopByHop(headers: Headers): void {
  // One scan finds what to drop; most responses carry none, so nothing is deleted at all.
  let doomed: string[] | undefined;
  headers.forEach((value, name) => {
    if (!HOP_SET.has(name)) return;
    (doomed ??= []).push(name);
    if (name === "connection") doomed.push(...connectionListed(value));
  });
  if (doomed !== undefined) { for (const name of doomed) headers.delete(name); }
}
