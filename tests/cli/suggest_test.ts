import { suggestFlags } from "../../src/cli/suggest.ts";
import { assertEquals } from "../_support/assert.ts";

const FLAGS = [
  "--port",
  "--host",
  "--project",
  "--sdk-url",
  "--jwks",
  "--jwt-ttl",
  "--protect-path-prefix",
  "--dont-install-cert",
  "--debug",
];

Deno.test("suggestFlags() offers typos, shortened and lengthened flags", async (t) => {
  const cases: [string, string[]][] = [
    ["--protect-path", ["--protect-path-prefix"]],
    ["--protect-path=/members", ["--protect-path-prefix"]],
    ["--protect", ["--project", "--protect-path-prefix"]],
    ["--prot", ["--port", "--protect-path-prefix"]],
    ["--sdkurl", ["--sdk-url"]],
    ["--jwks-file", ["--jwks"]],
    ["--dont-install", ["--dont-install-cert"]],
    ["--PORT", ["--port"]],
    ["--nope", []],
    ["--x", []],
    ["-x", []],
  ];
  for (const [typed, expected] of cases) {
    await t.step(typed, () => assertEquals(suggestFlags(typed, FLAGS), expected));
  }
});
