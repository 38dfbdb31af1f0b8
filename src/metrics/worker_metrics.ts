/**
 * The families the parent keeps about its workers (`--workers`), beside the sums of theirs:
 * how many serve, how often one was lost and started again, and what each answered, which
 * shows how evenly the kernel spreads connections over them.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { addWorkerMetrics } from "./worker_metrics.ts";
 * const registry = new Registry();
 * const workers = addWorkerMetrics(registry);
 * workers.answered(2, 10);
 * registry.render().includes('orygate_worker_requests_total{worker="2"} 10'); // true
 * ```
 *
 * @module
 */
import type { Registry } from "./registry.ts";

/** What the worker pool reports. */
export interface WorkerMetrics {
  /** Workers listening now. */
  running(count: number): void;
  /** A worker was lost and is being started again. */
  restarted(): void;
  /** Worker `id` has answered `requests` since it (re)started. */
  answered(id: number, requests: number): void;
}

/** Registers the worker families on `registry`. */
export function addWorkerMetrics(registry: Registry): WorkerMetrics {
  const running = registry.gauge(
    "orygate_workers",
    "Workers (--workers) serving on the public port.",
  ).series();
  const restarts = registry.counter(
    "orygate_worker_restarts_total",
    "Workers lost (crashed, or not answering for 10 s) and started again.",
  ).series();
  const requests = registry.counter(
    "orygate_worker_requests_total",
    "Requests each worker answered since it last started (orygate_requests_total has them all).",
    ["worker"],
  );
  return {
    running: (count) => void (running.value = count),
    restarted: () => void restarts.value++,
    answered: (id, n) => void (requests.series(String(id)).value = n),
  };
}
