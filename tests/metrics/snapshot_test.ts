import { Registry } from "../../src/metrics/registry.ts";
import {
  countersOf,
  mergeSnapshots,
  type RegistrySnapshot,
  renderSnapshot,
} from "../../src/metrics/snapshot.ts";
import { assertEquals, assertThrows } from "../_support/assert.ts";

/** A registry as each worker keeps one: a counter by route, a gauge, a histogram. */
function workerRegistry(hits: Record<string, number>, open: number, seconds: number[]) {
  const registry = new Registry();
  const counter = registry.counter("t_requests_total", "Requests.", ["route"]);
  for (const [route, n] of Object.entries(hits)) counter.series(route).value = n;
  registry.gauge("t_open", "Open.").series().value = open;
  const h = registry.histogram("t_seconds", "Time.", { buckets: [0.1, 1] });
  const s = h.series();
  for (const v of seconds) h.observe(s, v);
  return registry;
}

Deno.test("mergeSnapshots() adds up workers: counters, gauges, histograms", () => {
  const one = workerRegistry({ app: 2, ory: 1 }, 3, [0.05, 2]).snapshot();
  const two = workerRegistry({ app: 5, builtin: 4 }, 1, [0.5]).snapshot();
  assertEquals(
    renderSnapshot(mergeSnapshots([one, two])),
    [
      "# HELP t_requests_total Requests.",
      "# TYPE t_requests_total counter",
      't_requests_total{route="app"} 7',
      't_requests_total{route="ory"} 1',
      't_requests_total{route="builtin"} 4',
      "# HELP t_open Open.",
      "# TYPE t_open gauge",
      "t_open 4",
      "# HELP t_seconds Time.",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{le="0.1"} 1',
      't_seconds_bucket{le="1"} 2',
      't_seconds_bucket{le="+Inf"} 3',
      "t_seconds_sum 2.55",
      "t_seconds_count 3",
      "",
    ].join("\n"),
  );
  // The inputs are left as they were.
  assertEquals(one[0].series[0].value, 2);
  assertEquals(one[2].series[0].counts, [1, 0, 1]);
});

Deno.test("mergeSnapshots() of one snapshot renders as the registry does", () => {
  const registry = workerRegistry({ app: 1 }, 2, [0.2]);
  assertEquals(renderSnapshot(mergeSnapshots([registry.snapshot()])), registry.render());
  assertEquals(renderSnapshot(mergeSnapshots([])), "\n");
});

Deno.test("mergeSnapshots() keeps families only one side has (the parent's process metrics)", () => {
  const parent = new Registry();
  parent.gauge("process_resident_memory_bytes", "RSS.").series().value = 100;
  const merged = mergeSnapshots([
    parent.snapshot(),
    workerRegistry({ app: 1 }, 0, []).snapshot(),
    workerRegistry({ app: 1 }, 0, []).snapshot(),
  ]);
  assertEquals(merged.map((f) => f.name), [
    "process_resident_memory_bytes",
    "t_requests_total",
    "t_open",
    "t_seconds",
  ]);
  assertEquals(merged[0].series[0].value, 100);
});

Deno.test("mergeSnapshots() refuses one name with two kinds", async () => {
  const a: RegistrySnapshot = [{
    name: "x",
    help: "",
    kind: "counter",
    labelNames: [],
    series: [{ labels: [], value: 1 }],
  }];
  const b: RegistrySnapshot = [{ ...a[0], kind: "gauge" }];
  await assertThrows(() => mergeSnapshots([a, b]), TypeError, /^x is a counter and a gauge$/);
});

Deno.test("countersOf() keeps what a lost worker counted, not what it held open", () => {
  const snapshot = workerRegistry({ app: 3 }, 5, [0.5]).snapshot();
  assertEquals(countersOf(snapshot).map((f) => f.name), ["t_requests_total", "t_seconds"]);
});
