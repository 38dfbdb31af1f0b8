import { oryUrlConflict } from "../../src/cli/notices.ts";
import { assertEquals } from "../_support/assert.ts";

const config = { oryBase: "http://127.0.0.1:4433" };

Deno.test("oryUrlConflict() names the Ory URL's source and the ignored project", async (t) => {
  const cases: [string, Parameters<typeof oryUrlConflict>[0], string | undefined][] = [
    ["only --sdk-url", { options: { sdkUrl: "http://127.0.0.1:4433" }, env: {} }, undefined],
    ["only --project", { options: { project: "demo" }, env: {} }, undefined],
    [
      "flags",
      { options: { sdkUrl: "http://127.0.0.1:4433", project: "demo" }, env: {} },
      "both --sdk-url and --project are set: Ory is http://127.0.0.1:4433 (from --sdk-url); --project is ignored",
    ],
    [
      "environment",
      { options: {}, env: { ORY_SDK_URL: "http://127.0.0.1:4433", ORY_PROJECT_ID: "x" } },
      "both ORY_SDK_URL and ORY_PROJECT_ID are set: Ory is http://127.0.0.1:4433 (from ORY_SDK_URL); ORY_PROJECT_ID is ignored",
    ],
    [
      "a URL from the environment beats a --project flag",
      { options: { project: "demo" }, env: { ORY_SDK_URL: "http://127.0.0.1:4433" } },
      "both ORY_SDK_URL and --project are set: Ory is http://127.0.0.1:4433 (from ORY_SDK_URL); --project is ignored",
    ],
    ["empty values do not count", { options: { sdkUrl: "x", project: " " }, env: {} }, undefined],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => assertEquals(oryUrlConflict(input, config), expected));
  }
});
