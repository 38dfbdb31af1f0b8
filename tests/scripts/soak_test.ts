import { runSoak } from "../../scripts/soak.ts";
import { assert, assertEquals } from "../_support/assert.ts";

Deno.test({
  name: "soak (30 s): mixed traffic, no failures, RSS and open fds do not grow",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await runSoak({ seconds: 30, log: console.log });
    assertEquals(r.failures, []);
    for (const [kind, counts] of Object.entries(r.requests)) assert(counts.ok > 0, `${kind} ran`);
    assert(r.fdGrowth <= 8, `open fds grew by ${r.fdGrowth}`);
    assert(r.rssGrowthMiB < 150, `RSS grew by ${r.rssGrowthMiB} MiB`);
  },
});
