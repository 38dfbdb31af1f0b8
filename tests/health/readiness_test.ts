import { createReadiness } from "../../src/health/readiness.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("createReadiness(): one probe per few seconds, shared while in flight", async () => {
  let probes = 0;
  let up = true;
  let clock = 0;
  const readiness = createReadiness({
    oryBase: "http://ory.test",
    now: () => clock,
    fetch: () => {
      probes++;
      return up
        ? Promise.resolve(new Response("{}", { status: 404 })) // any answer counts
        : Promise.reject(new TypeError("fetch failed", { cause: new Error("Connection refused") }));
    },
  });
  assertEquals(await Promise.all([readiness(), readiness()]), [undefined, undefined]);
  assertEquals(probes, 1);
  up = false;
  clock = 2_999;
  assertEquals(await readiness(), undefined);
  clock = 3_000;
  assertEquals(await readiness(), "Ory does not answer: connection refused");
  assertEquals(probes, 2);
});
