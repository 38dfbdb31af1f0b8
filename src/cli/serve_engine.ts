/**
 * Builds one engine and serves it on the public port: what the main thread does with one
 * event loop, and what each worker does with `--workers`. The engine counts into `metrics`
 * and the server tells it about connections and tunnels.
 *
 * @example
 * ```ts ignore
 * const served = await serveEngine(config, { logger });
 * await served.shutdown(5000);
 * ```
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import { createOrygateHandler, type OrygateHandlerDeps } from "../create_handler.ts";
import { countUpstreamError } from "../metrics/upstream_error_kind.ts";
import type { PrometheusMetrics } from "../metrics/prometheus.ts";
import type { Logger } from "../log/logger.ts";
import { listen } from "./listen.ts";

/** What {@linkcode serveEngine} needs besides the config. */
export interface ServeEngineOptions extends Pick<OrygateHandlerDeps, "keys" | "revocationBus"> {
  readonly logger: Logger;
  /** PEM certificate and key for HTTPS (`proxy local`). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Where requests, connections and tunnels are counted (`--metrics-address`). */
  readonly metrics?: PrometheusMetrics;
  /** Share the port with the other workers (`SO_REUSEPORT`). */
  readonly reusePort?: boolean;
  /** Told which keys sign, once loaded (the banner). */
  readonly onSigningKeys?: OrygateHandlerDeps["onSigningKeys"];
}

/** An engine being served. */
export interface ServedEngine {
  /** Resolves when the server stopped (only after `shutdown`, in practice). */
  readonly finished: Promise<void>;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, closes the engine. */
  shutdown(graceMs?: number): Promise<void>;
}

/** Builds the engine and starts its server; throws ConfigError when the port cannot be used. */
export async function serveEngine(
  config: Config,
  options: ServeEngineOptions,
): Promise<ServedEngine> {
  const { logger, metrics } = options;
  const engine = await createOrygateHandler(config, {
    logger,
    metrics,
    keys: options.keys,
    revocationBus: options.revocationBus,
    onSigningKeys: options.onSigningKeys,
  });
  let server;
  try {
    server = listen(engine, {
      port: config.port,
      hostname: config.hostname,
      logger,
      tls: options.tls,
      reusePort: options.reusePort,
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
  } catch (err) {
    engine.close();
    throw err;
  }
  return {
    finished: server.finished,
    async shutdown(graceMs) {
      await server.shutdown(graceMs);
      engine.close();
    },
  };
}
