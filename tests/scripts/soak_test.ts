import { formatSoak, runSoak } from "../../scripts/soak.ts";
import { assert, assertEquals } from "../_support/assert.ts";

Deno.test({
  name: "soak (30 s): mixed traffic, no failures, RSS and open fds do not grow",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // The run's table is shown only when an assertion fails: a passing run prints nothing.
    const r = await runSoak({ seconds: 30 });
    const report = `\n${formatSoak(r)}`;
    assertEquals(r.failures, [], report);
    for (const [kind, counts] of Object.entries(r.requests)) {
      assert(counts.ok > 0, `${kind} ran${report}`);
    }
    assert(r.fdGrowth <= 8, `open fds grew by ${r.fdGrowth}${report}`);
    assert(r.rssGrowthMiB < 150, `RSS grew by ${r.rssGrowthMiB} MiB${report}`);
  },
});
