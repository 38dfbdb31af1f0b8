/**
 * `--workers <n>` on the parent's side: what is done once per process before the workers
 * start, and what the parent does for all of them while they serve.
 *
 * - Once: the access rules checked, the signing keys loaded or made (so every worker
 *   signs with the same key), the certificate of `proxy local` prepared (by the caller).
 * - The metrics listener (`--metrics-address`) answers with the sum over the workers:
 *   counters, histograms and the open connection and tunnel gauges added up
 *   (`metrics/snapshot.ts`); the process metrics and the build info come from the parent
 *   alone, as the workers are threads of its one process. Beside them: `orygate_workers`,
 *   `orygate_worker_restarts_total` and each worker's `orygate_worker_requests_total`.
 * - Redis (`--redis-url`): one connection for the process. A logout a worker saw goes to the
 *   other workers and to Redis; a purge from Redis goes to every worker.
 *
 * @example
 * ```ts ignore
 * const running = await startWorkers(config, { logger, count: 4, input, module });
 * await running.shutdown();
 * ```
 *
 * @module
 */
import type { Config } from "../config/config.ts";
import type { ParseInput } from "../config/parse.ts";
import { type KeySet, loadConfiguredKeySet } from "../jwt/keys.ts";
import type { Logger } from "../log/logger.ts";
import { createMetricsEndpoint } from "../metrics/endpoint.ts";
import { createPrometheusMetrics } from "../metrics/prometheus.ts";
import { mergeSnapshots, type RegistrySnapshot, renderSnapshot } from "../metrics/snapshot.ts";
import { addWorkerMetrics } from "../metrics/worker_metrics.ts";
import { compileRules, sessionFeaturesOn } from "../session/features.ts";
import type { RevocationBus } from "../session/revocation_bus.ts";
import { VERSION } from "../version.ts";
import { checkPortFree, listenMetrics, type RunningServer } from "./listen.ts";
import { WORKER_NAME_PREFIX } from "./worker_messages.ts";
import { startWorkerPool } from "./worker_pool.ts";

/** What {@linkcode startWorkers} needs besides the config. */
export interface StartWorkersOptions {
  readonly logger: Logger;
  /** Workers to run (2 or more). */
  readonly count: number;
  /** The command line the config came from: each worker parses it again. */
  readonly input: ParseInput;
  /** The program's main module, which each worker runs (`main.ts`, or the bundle). */
  readonly module: string;
  /** `proxy local`'s certificate and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** How long a stop waits for requests in flight (default 5 s). */
  readonly graceMs?: number;
}

/** Workers serving. */
export interface RunningWorkers {
  /** The keys every worker signs with (JWTs on), for the banner. */
  readonly keys?: KeySet;
  /** Stops every worker within the grace period, then the metrics listener and Redis. */
  shutdown(): Promise<void>;
}

/** Loads what is shared, starts the workers and resolves once all of them listen. */
export async function startWorkers(
  config: Config,
  options: StartWorkersOptions,
): Promise<RunningWorkers> {
  const { logger } = options;
  checkPortFree(config);
  const metrics = config.metricsAddress === undefined
    ? undefined
    : createPrometheusMetrics({ version: VERSION });
  const workerMetrics = metrics && addWorkerMetrics(metrics.registry);

  // Started first, so that a metrics address in use is reported before any worker starts.
  const metricsServer: RunningServer | undefined = metrics && config.metricsAddress &&
    listenMetrics(
      createMetricsEndpoint({
        contentType: metrics.contentType,
        render: async () => {
          const { workers, retired } = await pool.snapshots();
          for (const { id, snapshot } of workers) {
            workerMetrics?.answered(id, requestsIn(snapshot));
          }
          workerMetrics?.running(pool.running);
          return renderSnapshot(
            mergeSnapshots([metrics.snapshot(), retired, ...workers.map((w) => w.snapshot)]),
          );
        },
      }),
      { ...config.metricsAddress, logger },
    );
  let keys: KeySet | undefined;
  try {
    // Checked before any key file is touched, so a bad rule leaves none behind.
    if (config.mode === "proxy") compileRules(config);
    if (config.mode === "proxy" && config.jwt.enabled) {
      keys = await loadConfiguredKeySet(config.jwt);
    }
  } catch (err) {
    await metricsServer?.shutdown(0);
    throw err;
  }

  // One connection for the process: purges from Redis go to every worker. The client is loaded
  // only with --redis-url (session/features.ts says why).
  const bus: RevocationBus | undefined =
    config.jwt.redisUrl !== undefined && sessionFeaturesOn(config)
      ? (await import("../session/revocation_bus.ts")).connectRevocationBus(config.jwt.redisUrl, {
        logger,
        onRevoked: (key) => pool.purge(key),
        onResync: () => pool.purge("*"),
        countError: () => metrics?.redisError(),
      })
      : undefined;
  const pool = startWorkerPool({
    count: options.count,
    start: { input: options.input, keys, tls: options.tls },
    spawn: (id) =>
      new Worker(options.module, { type: "module", name: `${WORKER_NAME_PREFIX}${id}` }),
    logger,
    // A logout one worker saw (the pool told the others): for the other instances.
    onRevoked: (key) => bus?.publish(key),
    onRestart: () => workerMetrics?.restarted(),
  });
  const stopAll = async () => {
    await pool.stop(options.graceMs ?? 5000);
    await metricsServer?.shutdown(1000);
    await bus?.close();
  };
  try {
    await pool.started;
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { keys, shutdown: stopAll };
}

/** A worker's requests answered: its `orygate_requests_total`, every series. */
function requestsIn(snapshot: RegistrySnapshot): number {
  const family = snapshot.find((f) => f.name === "orygate_requests_total");
  return family?.series.reduce((sum, s) => sum + (s.value ?? 0), 0) ?? 0;
}
