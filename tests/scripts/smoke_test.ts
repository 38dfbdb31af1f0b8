import { smoke } from "../../scripts/smoke.ts";
import { assert, assertEquals, assertThrows } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("smoke() passes for the CLI run from source", async () => {
  const lines: string[] = [];
  await smoke([Deno.execPath(), "run", "-A", "src/main.ts"], {
    cwd: ROOT,
    log: (l) => lines.push(l),
  });
  // Linux: the same again with --workers 2, and both workers answered.
  assertEquals(lines.length, Deno.build.os === "linux" ? 8 : 5, lines.join("\n"));
  if (Deno.build.os === "linux") {
    assert(
      lines.some((l) => /^proxy --workers 2: both answered \(\d+ \+ \d+\), one key set$/.test(l)),
    );
  }
});

Deno.test("smoke() fails with the reason when the version is wrong", async () => {
  await assertThrows(
    () =>
      smoke([Deno.execPath(), "run", "data:text/javascript,console.log('9.9.9')"], { cwd: ROOT }),
    Error,
    /^--version: expected "\d+\.\d+\.\d+[^"]*" and exit 0, got "9\.9\.9" and exit 0/,
  );
});
