import { freePort } from "../_support/cli.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

const EXAMPLE = new URL("../../examples/embed.ts", import.meta.url).pathname;

Deno.test("examples/embed.ts serves its own route and proxies the rest", async () => {
  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`app saw ${new URL(req.url).pathname}`),
  );
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE, `http://127.0.0.1:${app.addr.port}`, "http://127.0.0.1:1"],
    env: { PORT: String(port), NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const { promise: listening, resolve } = Promise.withResolvers<void>();
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      if (stderr.includes("listening on")) resolve();
    }
  })();
  try {
    const first = await Promise.race([
      listening.then(() => "listening"),
      child.status.then((s) => `exited with ${s.code}`),
    ]);
    assertEquals(first, "listening", stderr);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assertEquals([health.status, await health.text()], [200, "ok\n"]);
    const page = await fetch(`http://127.0.0.1:${port}/hello`);
    assertEquals([page.status, await page.text()], [200, "app saw /hello"]);
    const jwks = await (await fetch(`http://127.0.0.1:${port}/.ory/jwks.json`)).json();
    assertEquals(jwks.keys.length, 1);
    // Ory is unreachable here: the proxy answers 502 and names it.
    const ory = await fetch(`http://127.0.0.1:${port}/.ory/sessions/whoami`);
    assertEquals(ory.status, 502);
    assertMatch(await ory.text(), /Ory/);
    child.kill("SIGTERM");
    assertEquals((await child.status).code, 0, stderr);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await pump;
    await app.shutdown();
  }
});
