/**
 * The {@linkcode Metrics} orygate keeps with `--metrics-address`: every orygate series in a
 * registry of its own (`registry.ts`), with the standard process metrics
 * (`process_metrics.ts`).
 *
 * The hot path: an answered request costs one counter increment and one histogram
 * observation on series looked up once and kept (the request counter's by route, method and
 * status). Methods outside the standard ones count as `OTHER`, so a client cannot grow the
 * registry without bound.
 *
 * @example
 * ```ts
 * import { createPrometheusMetrics } from "./prometheus.ts";
 * const metrics = createPrometheusMetrics({ version: "0.1.0" });
 * metrics.request("app", "GET", 200, 0.004);
 * const text = await metrics.render();
 * text.includes('orygate_requests_total{route="app",method="GET",code="200"} 1'); // true
 * ```
 *
 * @module
 */
import type {
  DenialKind,
  Metrics,
  RouteLabel,
  SessionCheckResult,
  UpstreamErrorKind,
  UpstreamLabel,
} from "./metrics.ts";
import { addProcessMetrics } from "./process_metrics.ts";
import { CONTENT_TYPE, type HistogramSample, Registry, type Sample } from "./registry.ts";
import type { RegistrySnapshot } from "./snapshot.ts";

/** The registry behind {@linkcode Metrics}, and how to read it. */
export interface PrometheusMetrics extends Metrics {
  /** The registry in the Prometheus text format (0.0.4). */
  render(): Promise<string>;
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string;
  /** The registry as plain data: what a worker hands its parent to add up. */
  snapshot(): RegistrySnapshot;
  /** The registry itself, for families kept beside orygate's (the worker pool's). */
  readonly registry: Registry;
}

/** What {@linkcode createPrometheusMetrics} needs. */
export interface PrometheusOptions {
  readonly version: string;
  /**
   * Keep the families that describe the whole process (`process_*`, `orygate_build_info`);
   * default true. False in a worker: it is a thread of the process, whose parent keeps them
   * once rather than once per worker.
   */
  readonly perProcess?: boolean;
}

/** Seconds: a proxied request on a LAN takes a millisecond or two; Ory's whoami 5–50 ms. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]);
const ROUTES: readonly RouteLabel[] = ["app", "ory", "builtin"];
const UPSTREAMS: readonly UpstreamLabel[] = ["app", "ory"];
const KINDS: readonly UpstreamErrorKind[] = ["connect", "timeout", "reset", "protocol"];
const RESULTS: readonly SessionCheckResult[] = [
  "active",
  "inactive",
  "aal2_required",
  "error",
  "rate_limited",
];
const DENIALS: readonly DenialKind[] = ["redirect", "unauthorized", "forbidden", "unavailable"];

/** Creates a registry with every orygate metric at zero. */
export function createPrometheusMetrics(options: PrometheusOptions): PrometheusMetrics {
  const registry = new Registry();
  const requests = registry.counter(
    "orygate_requests_total",
    "Requests answered, by route (app, ory, builtin), method and status code.",
    ["route", "method", "code"],
  );
  const duration = registry.histogram(
    "orygate_request_duration_seconds",
    "Time from a request's head to its response head, by route.",
    { labelNames: ["route"], buckets: BUCKETS },
  );
  const upstreamErrors = registry.counter(
    "orygate_upstream_errors_total",
    "Upstream failures, by upstream (app, ory) and kind (connect, timeout, reset, protocol).",
    ["upstream", "kind"],
  );
  const sessionChecks = registry.counter(
    "orygate_session_checks_total",
    "Session checks with Ory (whoami), by result (active, inactive, aal2_required, error, rate_limited).",
    ["result"],
  );
  const cacheHits = registry.counter(
    "orygate_session_cache_hits_total",
    "Requests with an Ory credential whose session check was cached.",
  ).series();
  const cacheMisses = registry.counter(
    "orygate_session_cache_misses_total",
    "Requests with an Ory credential whose session had to be asked of Ory.",
  ).series();
  const whoami = registry.histogram(
    "orygate_whoami_duration_seconds",
    "Time one session check with Ory took (retries after a 429 included).",
    { buckets: BUCKETS },
  );
  const whoamiSeries = whoami.series();
  const minted = registry.counter(
    "orygate_jwt_minted_total",
    "JWTs signed for the application (a cached session reuses its JWT).",
  ).series();
  const redisErrors = registry.counter(
    "orygate_redis_errors_total",
    "Failures talking to Redis (--redis-url): connection errors and failed publishes.",
  ).series();
  const denials = registry.counter(
    "orygate_protection_denials_total",
    "Requests for protected paths refused, by kind (redirect, unauthorized, forbidden, unavailable).",
    ["kind"],
  );
  const connections = registry.gauge(
    "orygate_open_connections",
    "Client connections open on the public port.",
  ).series();
  const tunnels = registry.gauge(
    "orygate_websocket_tunnels",
    "WebSocket (upgraded) connections being relayed.",
  ).series();
  if (options.perProcess !== false) {
    registry.gauge("orygate_build_info", "Always 1; the version is in the label.", ["version"])
      .series(options.version).value = 1;
    addProcessMetrics(registry);
  }

  // Every label value known in advance is a series from the start, so rate() sees its zero.
  const durationBy = Object.fromEntries(ROUTES.map((r) => [r, duration.series(r)])) as Record<
    RouteLabel,
    HistogramSample
  >;
  const errorsBy = new Map<string, Sample>();
  for (const upstream of UPSTREAMS) {
    for (const kind of KINDS) errorsBy.set(upstream + kind, upstreamErrors.series(upstream, kind));
  }
  const checksBy = Object.fromEntries(RESULTS.map((r) => [r, sessionChecks.series(r)]));
  const denialsBy = Object.fromEntries(DENIALS.map((k) => [k, denials.series(k)]));

  /**
   * The request counter's series by route, then method, then status (an array index): looked
   * up once each, and found again without building a key string per request.
   */
  const requestSeries = Object.fromEntries(ROUTES.map((r) => [r, new Map<string, Sample[]>()]));
  const requestSample = (route: RouteLabel, method: string, status: number) => {
    const byMethod = requestSeries[route];
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) {
      const m = METHODS.has(method) ? method : "OTHER";
      byStatus = m === method ? [] : byMethod.get(m) ?? [];
      // Bounded: only the standard methods get their own entry; the rest share OTHER's.
      byMethod.set(m, byStatus);
      if (m !== method) return byStatus[status] ??= requests.series(route, m, String(status));
    }
    return byStatus[status] ??= requests.series(route, method, String(status));
  };

  return {
    enabled: true,
    contentType: CONTENT_TYPE,
    registry,
    render: () => Promise.resolve(registry.render()),
    snapshot: () => registry.snapshot(),
    request(route, method, status, seconds) {
      requestSample(route, method, status).value++;
      duration.observe(durationBy[route], seconds);
    },
    upstreamError: (upstream, kind) => void errorsBy.get(upstream + kind)!.value++,
    sessionCheck(result, seconds) {
      checksBy[result].value++;
      whoami.observe(whoamiSeries, seconds);
    },
    sessionCache: (hit) => void (hit ? cacheHits.value++ : cacheMisses.value++),
    jwtMinted: () => void minted.value++,
    redisError: () => void redisErrors.value++,
    protectionDenial: (kind) => void denialsBy[kind].value++,
    connectionOpened: () => void connections.value++,
    connectionClosed: () => void connections.value--,
    tunnelOpened: () => void tunnels.value++,
    tunnelClosed: () => void tunnels.value--,
  };
}
