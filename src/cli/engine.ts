/**
 * Runs one configured engine until a stop is asked for: builds it (with the session
 * gate and JWKS routes when JWTs are on), listens, prints the banner, opens the browser if
 * asked, and shuts down gracefully.
 *
 * @example
 * ```ts ignore
 * await runEngine(config, { logger, stop: waitForSignal() });
 * ```
 */
import type { Config } from "../config/config.ts";
import { createOrygateHandler } from "../create_handler.ts";
import { openBrowser } from "../runtime/open_browser.ts";
import { listen, listenMetrics, type RunningServer } from "./listen.ts";
import { createMetricsEndpoint } from "../metrics/endpoint.ts";
import { countUpstreamError } from "../metrics/upstream_error_kind.ts";
import { createPrometheusMetrics, type PrometheusMetrics } from "../metrics/prometheus.ts";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import { type BannerDetails, readyBanner } from "./banner.ts";
import { checkOryAnswers } from "../health/ory_check.ts";

/** What {@linkcode runEngine} needs besides the config. */
export interface EngineOptions {
  readonly logger: Logger;
  /** Resolves when the engine should stop (a signal). */
  readonly stop: Promise<void>;
  /** TLS material for HTTPS (proxy local), and where it came from (for the banner). */
  readonly tls?: { readonly cert: string; readonly key: string } & BannerDetails["tls"];
  /** Used for the start-up check that Ory answers. */
  readonly fetch?: typeof fetch;
}

/** Serves until `stop` resolves. Throws ConfigError for start-up mistakes. */
export async function runEngine(config: Config, options: EngineOptions): Promise<void> {
  const { logger } = options;
  // A last line of defence: one request's unexpected error must not end every other
  // connection. It is logged loudly as a bug; the server keeps serving.
  const onUncaught = (event: ErrorEvent | PromiseRejectionEvent) => {
    event.preventDefault();
    const err = "reason" in event ? event.reason : event.error;
    logger.error(`internal error (a bug, please report): ${err?.stack ?? err}`);
  };
  globalThis.addEventListener("error", onUncaught);
  globalThis.addEventListener("unhandledrejection", onUncaught);
  let keys: BannerDetails["keys"];
  // Off by default: without --metrics-address nothing is counted at all.
  let metrics: PrometheusMetrics | undefined;
  let metricsServer: RunningServer | undefined;
  if (config.metricsAddress !== undefined) {
    metrics = createPrometheusMetrics({ version: VERSION });
    metricsServer = listenMetrics(createMetricsEndpoint(metrics), {
      ...config.metricsAddress,
      logger,
    });
  }
  const engine = await createOrygateHandler(config, {
    logger,
    metrics,
    onSigningKeys: (set) => {
      keys = { kid: set.keys[0].kid, count: set.keys.length, file: set.file };
    },
  });
  let server: RunningServer;
  try {
    server = startServer(engine, config, options, metrics);
  } catch (err) {
    await metricsServer?.shutdown(0);
    throw err;
  }
  const { tls } = options;
  logger.info(readyBanner(config, VERSION, {
    keys,
    tls: tls && { caFile: tls.caFile, caFingerprint: tls.caFingerprint, certFile: tls.certFile },
  }));
  // Once, in the background: a wrong --sdk-url or a stopped Ory is named now, not by the
  // first request. Only a warning: Ory may well come up after the proxy.
  const stopCheck = new AbortController();
  const oryCheck = checkOryAnswers(config.oryBase, {
    fetch: options.fetch,
    signal: stopCheck.signal,
  }).then((problem) => {
    if (problem === undefined) return;
    logger.warn(
      `Ory at ${config.oryUrl.origin} does not answer: ${problem}. ` +
        "Its APIs and session checks fail until it does.",
    );
  });
  if (config.open) {
    void openBrowser(config.publishUrl.href).then((ok) => {
      if (!ok) logger.info(`Could not open a browser: open ${config.publishUrl.href} yourself`);
    });
  }
  await Promise.race([options.stop, server.finished]);
  stopCheck.abort();
  await oryCheck;
  logger.info("orygate: shutting down");
  await server.shutdown();
  await metricsServer?.shutdown(1000);

  engine.close();
  globalThis.removeEventListener("error", onUncaught);
  globalThis.removeEventListener("unhandledrejection", onUncaught);
  logger.flush();
}

/** The public listener for the engine, telling `metrics` about connections and tunnels. */
function startServer(
  engine: Parameters<typeof listen>[0],
  config: Config,
  options: EngineOptions,
  metrics: PrometheusMetrics | undefined,
): RunningServer {
  return listen(engine, {
    port: config.port,
    hostname: config.hostname,
    logger: options.logger,
    tls: options.tls,
    headerTimeoutMs: config.headerTimeoutMs,
    tunnelIdleTimeoutMs: config.websocketIdleTimeoutMs,
    httpsOrigin: config.publishOrigin,
    hooks: metrics && {
      connectionOpened: metrics.connectionOpened,
      connectionClosed: metrics.connectionClosed,
      tunnelOpened: metrics.tunnelOpened,
      tunnelClosed: metrics.tunnelClosed,
      // A response body that broke off mid-way: the upstream's failure, counted by kind.
      responseFailed: (err) => countUpstreamError(err, metrics),
    },
  });
}
