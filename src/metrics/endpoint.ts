/**
 * The metrics listener's one route: `GET /metrics` (and HEAD) in the Prometheus text format
 * (0.0.4); anything else is a 404 or 405. It is served on its own address
 * (`--metrics-address`), never on the public port.
 *
 * @example
 * ```ts ignore
 * import { serveH1 } from "../http1/server.ts";
 * serveH1({ hostname: "127.0.0.1", port: 9464 }, createMetricsEndpoint(metrics));
 * ```
 *
 * @module
 */
import { type ProxyRequest, type ProxyResult, textResult } from "../http1/message.ts";
import type { PrometheusMetrics } from "./prometheus.ts";

const encoder = new TextEncoder();

/** The handler for the metrics listener. */
export function createMetricsEndpoint(
  metrics: Pick<PrometheusMetrics, "render" | "contentType">,
): (req: ProxyRequest) => Promise<ProxyResult> {
  return async (req) => {
    if (new URL(req.url).pathname !== "/metrics") {
      return textResult(404, "orygate: metrics are at /metrics\n");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return textResult(405, "orygate: use GET\n", { allow: "GET, HEAD" });
    }
    const body = encoder.encode(await metrics.render());
    return {
      status: 200,
      statusText: "",
      headers: new Headers({ "content-type": metrics.contentType, "cache-control": "no-store" }),
      body,
    };
  };
}
