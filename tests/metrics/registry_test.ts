import { Registry } from "../../src/metrics/registry.ts";
import { upstreamErrorKind } from "../../src/metrics/upstream_error_kind.ts";
import { UpstreamError } from "../../src/errors.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("Registry.render() writes the text format 0.0.4", () => {
  const registry = new Registry();
  const hits = registry.counter("t_hits_total", "Hits\nby route.", ["route"]);
  hits.series('a"b\\c\nd').value += 2;
  const h = registry.histogram("t_seconds", "Time.", { buckets: [0.1, 1] });
  const s = h.series();
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe(s, v);
  assertEquals(
    registry.render(),
    [
      "# HELP t_hits_total Hits\\nby route.",
      "# TYPE t_hits_total counter",
      't_hits_total{route="a\\"b\\\\c\\nd"} 2',
      "# HELP t_seconds Time.",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{le="0.1"} 2',
      't_seconds_bucket{le="1"} 3',
      't_seconds_bucket{le="+Inf"} 4',
      "t_seconds_sum 3.65",
      "t_seconds_count 4",
      "",
    ].join("\n"),
  );
});

Deno.test("upstreamErrorKind() sorts failures into connect, timeout, reset, protocol", () => {
  const err = (
    code: ConstructorParameters<typeof UpstreamError>[0],
    message: string,
    cause?: unknown,
  ) => upstreamErrorKind(new UpstreamError(code, "application", message, { cause }));
  assertEquals(err("ERR_UPSTREAM_UNREACHABLE", "could not be reached"), "connect");
  assertEquals(err("ERR_UPSTREAM_TIMEOUT", "did not answer"), "timeout");
  assertEquals(
    err("ERR_UPSTREAM_PROTOCOL", "the app closed the connection without answering"),
    "reset",
  );
  assertEquals(
    err(
      "ERR_UPSTREAM_PROTOCOL",
      "failed mid-response (ConnectionReset)",
      new Deno.errors.ConnectionReset("x"),
    ),
    "reset",
  );
  assertEquals(err("ERR_UPSTREAM_PROTOCOL", "sent an invalid status line"), "protocol");
});
