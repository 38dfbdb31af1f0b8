/**
 * deploy/grafana/orygate.json queries only metrics orygate exports (scraped from a running
 * orygate), and the YAML in docs/operations.md parses and names the real health paths.
 */
import { parse as parseYaml } from "yaml";
import { freePort, startCli } from "../_support/cli.ts";
import { scrape } from "../_support/prometheus.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);
const opts = { sanitizeOps: false, sanitizeResources: false };

/** Every PromQL expression in the dashboard: panel targets and template queries. */
function expressions(dashboard: Record<string, unknown>): string[] {
  const found: string[] = [];
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        if ((key === "expr" || (key === "query" && typeof v === "string" && v.includes("(")))) {
          found.push(v as string);
        } else walk(v);
      }
    }
  };
  walk(dashboard);
  return found;
}

/** The metric names an expression selects (`name{…}`, `name[…]`, `label_values(name, …)`). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)) names.add(m[1]);
  for (const m of expr.matchAll(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) names.add(m[1]);
  return [...names];
}

Deno.test(
  "the Grafana dashboard queries only metrics a running orygate exports",
  opts,
  async () => {
    const dashboard = JSON.parse(
      await Deno.readTextFile(new URL("deploy/grafana/orygate.json", ROOT)),
    );
    const exprs = expressions(dashboard);
    assert(exprs.length >= 10, `only ${exprs.length} expressions found`);
    for (const expr of exprs) assert(metricNames(expr).length > 0, `no metric in ${expr}`);

    const metricsPort = freePort();
    const proxy = await startCli([
      "proxy",
      "http://127.0.0.1:9",
      "--sdk-url",
      "http://127.0.0.1:9",
      "--metrics-address",
      `127.0.0.1:${metricsPort}`,
    ]);
    try {
      const { families } = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
      const exported = (name: string) =>
        families.has(name) ||
        (/_(bucket|sum|count)$/.test(name) &&
          families.get(name.replace(/_(bucket|sum|count)$/, ""))?.type === "HISTOGRAM");
      const unknown = exprs.flatMap(metricNames).filter((name) => !exported(name));
      assertEquals([...new Set(unknown)], []);
      // Each panel the issue asks for is there.
      const all = exprs.join("\n");
      for (
        const name of [
          "orygate_requests_total",
          "orygate_request_duration_seconds_bucket",
          "orygate_upstream_errors_total",
          "orygate_session_checks_total",
          "orygate_session_cache_hits_total",
          "orygate_open_connections",
          "process_resident_memory_bytes",
        ]
      ) assert(all.includes(name), `the dashboard never shows ${name}`);
    } finally {
      await proxy.stop();
    }
  },
);

Deno.test("metricNames() finds selectors, ranges and label_values", () => {
  assertEquals(metricNames('sum(rate(a_total{x="1"}[5m])) / b_seconds_bucket[1m]'), [
    "a_total",
    "b_seconds_bucket",
  ]);
  assertEquals(metricNames("label_values(orygate_build_info, job)"), ["orygate_build_info"]);
});

Deno.test("docs/operations.md: its YAML parses and probes the real health paths", async () => {
  const text = await Deno.readTextFile(new URL("docs/operations.md", ROOT));
  // The Kubernetes example (several documents) has its own test: tests/deploy/kubernetes_test.ts.
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .filter((m) => !m[1].includes("kind: Deployment"))
    .map((m) => parseYaml(m[1]));
  assertEquals(blocks.length, 2);
  const [pod, prometheus] = blocks;
  const container = pod.containers[0];
  assertEquals(container.livenessProbe.httpGet.path, "/.ory/proxy/health/alive");
  assertEquals(container.readinessProbe.httpGet.path, "/.ory/proxy/health/ready");
  assert(container.args.includes("--metrics-address"));
  assertEquals(prometheus.scrape_configs[0].metrics_path, "/metrics");
});
