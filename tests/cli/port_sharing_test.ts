import { currentRuntime, portSharing } from "../../src/cli/port_sharing.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

Deno.test("portSharing(): Linux with --unstable-net shares the port, the rest say why not", () => {
  assertEquals(portSharing({ os: "linux", unstableNet: true }), undefined);
  assertMatch(portSharing({ os: "darwin", unstableNet: true })!, /reusePort.*Linux-only/);
  assertMatch(portSharing({ os: "windows", unstableNet: true })!, /cannot share a port/);
  assertMatch(portSharing({ os: "linux", unstableNet: false })!, /--unstable-net/);
});

Deno.test("currentRuntime(): this test runs with deno.json's --unstable-net", () => {
  assertEquals(currentRuntime(), { os: Deno.build.os, unstableNet: true });
});
