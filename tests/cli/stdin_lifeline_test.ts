/**
 * The npm launcher's lifeline, from orygate's side: with ORYGATE_STOP_WHEN_STDIN_CLOSES=1 the
 * end of stdin stops the proxy as SIGTERM does; without it stdin means nothing.
 */
import { STDIN_LIFELINE_ENV, stdinClosed } from "../../src/cli/stdin_lifeline.ts";
import { freePort } from "../_support/cli.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

Deno.test("stdinClosed() resolves at the end of input, or when reading fails", async (t) => {
  await t.step("after whatever arrives, at the end", async () => {
    const reads = [5, 1];
    let calls = 0;
    await stdinClosed({
      read: () => {
        calls++;
        return Promise.resolve(reads.shift() ?? null);
      },
    });
    assertEquals(calls, 3);
  });
  await t.step("on a read error (a broken pipe)", async () => {
    await stdinClosed({ read: () => Promise.reject(new Deno.errors.BrokenPipe("gone")) });
  });
});

/** Starts the proxy with stdin piped; resolves once it is ready. */
async function startWithStdin(env: Record<string, string>) {
  const app = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response());
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "proxy", `http://127.0.0.1:${app.addr.port}`],
    env: {
      ...env,
      NO_COLOR: "1",
      PORT: String(port),
      ORY_SDK_URL: `http://127.0.0.1:${freePort()}`,
    },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let output = "";
  const { promise: ready, resolve } = Promise.withResolvers<void>();
  const pump = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      output += text;
      if (output.includes("is ready")) resolve();
    }
  })();
  await Promise.race([ready, child.status]);
  assertMatch(output, /is ready/);
  const portOpen = () =>
    Deno.connect({ hostname: "127.0.0.1", port }).then((c) => (c.close(), true), () => false);
  return {
    child,
    portOpen,
    output: () => output,
    async close() {
      await pump;
      await app.shutdown();
    },
  };
}

Deno.test(
  "proxy: with the launcher's flag, stdin closing stops it cleanly (exit 0, port closed)",
  async () => {
    const proxy = await startWithStdin({ [STDIN_LIFELINE_ENV]: "1" });
    try {
      assert(await proxy.portOpen());
      const closedAt = Date.now();
      await proxy.child.stdin.close();
      const status = await proxy.child.status;
      assertEquals([status.code, status.signal], [0, null]);
      assert(Date.now() - closedAt < 5000, `took ${Date.now() - closedAt} ms`);
      assert(!(await proxy.portOpen()), "the port is still open");
      assertMatch(proxy.output(), /shutting down/);
    } finally {
      await proxy.close();
    }
  },
);

Deno.test("proxy: without the flag, stdin closing means nothing", async () => {
  const proxy = await startWithStdin({});
  try {
    await proxy.child.stdin.close();
    const early = await Promise.race([
      proxy.child.status.then(() => "exited"),
      new Promise((resolve) => setTimeout(() => resolve("running"), 1000)),
    ]);
    assertEquals(early, "running");
    assert(await proxy.portOpen());
    proxy.child.kill("SIGTERM");
    assertEquals((await proxy.child.status).code, 0);
  } finally {
    await proxy.close();
  }
});
