import assert from "node:assert/strict";
import { runCommand } from "../../src/tls/command_runner.ts";

Deno.test("runCommand() runs a program and rejects with NotFound when it is missing", async () => {
  const ok = await runCommand("openssl", ["version"]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /OpenSSL/);
  await assert.rejects(() => runCommand("orygate-no-such-program", []), Deno.errors.NotFound);
});
