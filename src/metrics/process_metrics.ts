/**
 * The standard process metrics every Prometheus client exports, read at scrape time:
 * `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` and
 * `process_start_time_seconds`. CPU time and memory come from Node's `process` (which Deno
 * provides on every OS); open file descriptors from `/proc/self/fd`, so on Linux only (on
 * other systems the series stays absent, as in prom-client).
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * import { addProcessMetrics } from "./process_metrics.ts";
 * const registry = new Registry();
 * addProcessMetrics(registry);
 * registry.render().includes("process_resident_memory_bytes "); // true
 * ```
 *
 * @module
 */
import process from "node:process";
import type { Registry } from "./registry.ts";

/** Registers the four process metrics on `registry`. */
export function addProcessMetrics(registry: Registry): void {
  const cpu = registry.counter(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
  ).series();
  const rss = registry.gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
  ).series();
  const fdsFamily = Deno.build.os === "linux"
    ? registry.gauge("process_open_fds", "Number of open file descriptors.")
    : undefined;
  const fds = fdsFamily?.series();
  registry.gauge(
    "process_start_time_seconds",
    "Start time of the process since unix epoch in seconds.",
  ).series().value = Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000;

  registry.onCollect(() => {
    const usage = process.cpuUsage();
    cpu.value = (usage.user + usage.system) / 1e6;
    rss.value = process.memoryUsage.rss();
    if (fds !== undefined) fds.value = countOpenFds();
  });
}

function countOpenFds(): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  } catch {
    return NaN;
  }
  // The directory handle used to list them was one of them.
  return n - 1;
}
