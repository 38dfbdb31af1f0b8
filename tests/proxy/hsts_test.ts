import { neutralisesHsts } from "../../src/proxy/hsts.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("neutralisesHsts() only where a pinned HTTPS would hurt", () => {
  const cases: [string, boolean][] = [
    ["http://localhost:4000", true],
    ["http://app.example.org", true],
    ["https://localhost:4000", true],
    ["https://LOCALHOST", true],
    ["https://dev.localhost", true],
    ["https://127.0.0.1:8443", true],
    ["https://127.1.2.3", true],
    ["https://[::1]:4000", true],
    ["https://app.example.org", false],
    ["https://localhost.example.org", false],
    ["https://10.0.0.1", false],
  ];
  for (const [url, expected] of cases) assertEquals(neutralisesHsts(new URL(url)), expected, url);
});
