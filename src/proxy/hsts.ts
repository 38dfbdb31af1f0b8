/**
 * Whether orygate neutralises HSTS for a publish URL. `Strict-Transport-Security: max-age=0`
 * (what the Go `ory proxy` always sends) makes a browser forget a host's HSTS: right on a
 * developer's localhost, where a pinned HTTPS breaks every other local project on that name,
 * and on plain http publish URLs; wrong on a real https domain, where it would erase the
 * application's own policy in production. There the application's header passes unchanged.
 *
 * @example
 * ```ts
 * import { neutralisesHsts } from "./hsts.ts";
 * neutralisesHsts(new URL("https://localhost:4000")); // true
 * neutralisesHsts(new URL("https://www.example.org")); // false
 * ```
 */
export function neutralisesHsts(publishUrl: URL): boolean {
  if (publishUrl.protocol !== "https:") return true;
  const host = publishUrl.hostname.toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(host) || host === "0.0.0.0";
}
