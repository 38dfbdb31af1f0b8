/**
 * What runs in each worker thread of `--workers` (`worker_pool.ts` starts them with the
 * program's own main module; `main.ts` sees it is a worker and comes here): the same engine as
 * the main thread would run, served on the shared port (`SO_REUSEPORT`), signing with the
 * parent's keys, counting into its own registry for the parent to add up, and passing logouts
 * to and from the parent. Its log lines carry its id (`worker` in JSON, `worker <n>:` in text).
 *
 * @example
 * ```ts ignore
 * if (isOrygateWorker()) runWorker();
 * ```
 *
 * @module
 */
import { parseConfig } from "../config/parse.ts";
import { ConfigError } from "../errors.ts";
import { createLogger, type Logger } from "../log/logger.ts";
import { createPrometheusMetrics } from "../metrics/prometheus.ts";
import type { RevocationHandlers } from "../session/revocation_bus.ts";
import { VERSION } from "../version.ts";
import { type ServedEngine, serveEngine } from "./serve_engine.ts";
import { guardUncaught } from "./uncaught_guard.ts";
import {
  type FromWorker,
  type StartWorker,
  type ToWorker,
  WORKER_NAME_PREFIX,
} from "./worker_messages.ts";

/**
 * Tests only: `ORYGATE_TEST_WORKER_EXIT=<id>` makes worker `<id>` end its thread half a second
 * after its first start, without a word, as a thread that dies does (Deno tells the parent
 * nothing). Workers are threads, so no signal can reach one alone; this is how the tests
 * show that the parent notices and replaces it.
 */
const TEST_EXIT_ENV = "ORYGATE_TEST_WORKER_EXIT";

/** The worker's global scope, as far as it is used here. */
interface WorkerScope {
  readonly name: string;
  postMessage(message: FromWorker): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
  removeEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
  close(): void;
}

/** True in a thread the worker pool started (by its name), false on the main thread. */
export function isOrygateWorker(): boolean {
  const scope = globalThis as { WorkerGlobalScope?: unknown; name?: unknown };
  return scope.WorkerGlobalScope !== undefined && typeof scope.name === "string" &&
    scope.name.startsWith(WORKER_NAME_PREFIX);
}

/** Waits for the parent's `start`, then serves until it says `stop`. */
export function runWorker(): void {
  const scope = globalThis as unknown as WorkerScope;
  const first = (event: MessageEvent<ToWorker>) => {
    if (event.data.type !== "start") return;
    scope.removeEventListener("message", first);
    void serve(event.data, scope);
  };
  scope.addEventListener("message", first);
}

async function serve(start: StartWorker, scope: WorkerScope): Promise<void> {
  const post = (message: FromWorker) => scope.postMessage(message);
  const fail = (err: unknown, logger?: Logger) => {
    post({
      type: "failed",
      message: err instanceof Error ? err.message : String(err),
      config: err instanceof ConfigError,
    });
    logger?.flush();
    scope.close();
  };
  let config;
  try {
    config = parseConfig(start.input);
  } catch (err) {
    return fail(err);
  }
  const logger = createLogger(config.logLevel, { format: config.logFormat, worker: start.id });
  const unguard = guardUncaught(logger);
  const metrics = config.metricsAddress === undefined
    ? undefined
    : createPrometheusMetrics({ version: VERSION, perProcess: false });
  // The session cache's handlers, once the engine has one (proxy with JWTs or protection).
  let sessions: RevocationHandlers | undefined;
  let served: ServedEngine;
  try {
    served = await serveEngine(config, {
      logger,
      metrics,
      tls: start.tls,
      keys: start.keys,
      reusePort: true,
      revocationBus: (handlers) => {
        sessions = handlers;
        return {
          publish: (key) => post({ type: "revoked", key }),
          close: () => Promise.resolve(),
        };
      },
    });
  } catch (err) {
    unguard();
    return fail(err, logger);
  }

  let stopping = false;
  scope.addEventListener("message", (event) => {
    const message = event.data;
    switch (message.type) {
      case "ping":
        return post({ type: "pong", seq: message.seq });
      case "metrics":
        return post({ type: "metrics", seq: message.seq, snapshot: metrics?.snapshot() ?? [] });
      case "purge":
        return sessions?.onRevoked(message.key);
      case "stop":
        if (stopping) return;
        stopping = true;
        void served.shutdown(message.graceMs).then(() => {
          unguard();
          logger.flush();
          post({ type: "stopped" });
          scope.close();
        });
        return;
    }
  });
  post({ type: "ready" });

  if (start.generation === 0 && start.input.env[TEST_EXIT_ENV] === String(start.id)) {
    setTimeout(() => Deno.exit(70), 500);
  }
}
