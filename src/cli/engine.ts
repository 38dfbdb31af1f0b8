/**
 * Runs one configured engine until a stop is asked for: on the main thread, or on
 * `--workers` threads sharing the port (`workers.ts`); prints the banner, checks once that
 * Ory answers, opens the browser if asked, and shuts down gracefully.
 *
 * @example
 * ```ts ignore
 * await runEngine(config, { logger, stop: waitForSignal() });
 * ```
 */
import type { Config } from "../config/config.ts";
import type { ParseInput } from "../config/parse.ts";
import { openBrowser } from "../runtime/open_browser.ts";
import { listenMetrics, type RunningServer } from "./listen.ts";
import { createMetricsEndpoint } from "../metrics/endpoint.ts";
import { createPrometheusMetrics } from "../metrics/prometheus.ts";
import type { KeySet } from "../jwt/keys.ts";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import { type BannerDetails, readyBanner } from "./banner.ts";
import { checkOryAnswers } from "../health/ory_check.ts";
import { serveEngine } from "./serve_engine.ts";
import { guardUncaught } from "./uncaught_guard.ts";
import { portSharing } from "./port_sharing.ts";
import { startWorkers } from "./workers.ts";

/** What {@linkcode runEngine} needs besides the config. */
export interface EngineOptions {
  readonly logger: Logger;
  /** Resolves when the engine should stop (a signal). */
  readonly stop: Promise<void>;
  /** TLS material for HTTPS (proxy local), and where it came from (for the banner). */
  readonly tls?: { readonly cert: string; readonly key: string } & BannerDetails["tls"];
  /** Used for the start-up check that Ory answers. */
  readonly fetch?: typeof fetch;
  /**
   * For `--workers`: the command line the config was parsed from (each worker parses it
   * again) and the program's main module (each worker runs it). Without them, one event loop.
   */
  readonly workers?: { readonly input: ParseInput; readonly module: string };
}

/** What serves, on one event loop or several. */
interface Serving {
  readonly keys?: KeySet;
  /** Event loops accepting on the port. */
  readonly workers: number;
  /** Resolves if serving ends by itself. */
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

/** Serves until `stop` resolves. Throws ConfigError for start-up mistakes. */
export async function runEngine(config: Config, options: EngineOptions): Promise<void> {
  const { logger } = options;
  const unguard = guardUncaught(logger);
  try {
    const serving = await startServing(config, options);
    const { tls } = options;
    const keys = serving.keys;
    logger.info(readyBanner(config, VERSION, {
      keys: keys && { kid: keys.keys[0].kid, count: keys.keys.length, file: keys.file },
      tls: tls && { caFile: tls.caFile, caFingerprint: tls.caFingerprint, certFile: tls.certFile },
      workers: serving.workers,
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
    await Promise.race([options.stop, serving.finished]);
    stopCheck.abort();
    await oryCheck;
    logger.info("orygate: shutting down");
    await serving.shutdown();
  } finally {
    unguard();
    logger.flush();
  }
}

/** Starts the workers the config asks for where the port can be shared, else one loop. */
async function startServing(config: Config, options: EngineOptions): Promise<Serving> {
  const { logger } = options;
  if (config.workers > 1) {
    const cannot = options.workers === undefined
      ? "this program was not told its main module"
      : portSharing();
    if (cannot === undefined) {
      const running = await startWorkers(config, {
        logger,
        count: config.workers,
        input: options.workers!.input,
        module: options.workers!.module,
        tls: options.tls,
      });
      return {
        keys: running.keys,
        workers: config.workers,
        // Lost workers are started again: serving never ends by itself.
        finished: new Promise(() => {}),
        shutdown: running.shutdown,
      };
    }
    logger.warn(`--workers ${config.workers}: ${cannot}; running 1 worker`);
  }
  return await serveOnMainThread(config, options);
}

/** One event loop: the engine and the metrics listener on the main thread. */
async function serveOnMainThread(config: Config, options: EngineOptions): Promise<Serving> {
  const { logger } = options;
  // Off by default: without --metrics-address nothing is counted at all.
  let metricsServer: RunningServer | undefined;
  const metrics = config.metricsAddress === undefined
    ? undefined
    : createPrometheusMetrics({ version: VERSION });
  if (metrics !== undefined && config.metricsAddress !== undefined) {
    metricsServer = listenMetrics(createMetricsEndpoint(metrics), {
      ...config.metricsAddress,
      logger,
    });
  }
  let keys: KeySet | undefined;
  try {
    const served = await serveEngine(config, {
      logger,
      metrics,
      tls: options.tls,
      onSigningKeys: (set) => keys = set,
    });
    return {
      keys,
      workers: 1,
      finished: served.finished,
      async shutdown() {
        await served.shutdown();
        await metricsServer?.shutdown(1000);
      },
    };
  } catch (err) {
    await metricsServer?.shutdown(0);
    throw err;
  }
}
