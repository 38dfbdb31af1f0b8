import { checkOryAnswers } from "../../src/health/ory_check.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("checkOryAnswers() counts any HTTP answer and names a failure", async (t) => {
  await t.step("a 404 is an answer; the path is /health/alive under the Ory URL", async () => {
    const seen: string[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      seen.push(new URL(req.url).pathname);
      return new Response("no", { status: 404 });
    });
    try {
      const base = `http://127.0.0.1:${server.addr.port}/base`;
      assertEquals(await checkOryAnswers(base), undefined);
      assertEquals(seen, ["/base/health/alive"]);
    } finally {
      await server.shutdown();
    }
  });
  await t.step("a refused connection", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    listener.close();
    const base = `http://127.0.0.1:${listener.addr.port}`;
    assertEquals(await checkOryAnswers(base), "connection refused");
  });
  await t.step("no answer in time", async () => {
    const never: typeof fetch = (_input, init) =>
      new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))
      );
    assertEquals(
      await checkOryAnswers("http://ory.test", { fetch: never, timeoutMs: 50 }),
      "timeout: no answer within 50ms",
    );
  });
  await t.step("stopping early is not a problem to report", async () => {
    const stop = new AbortController();
    const never: typeof fetch = (_input, init) =>
      new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal!.reason))
      );
    const check = checkOryAnswers("http://ory.test", {
      fetch: never,
      signal: stop.signal,
    });
    stop.abort();
    assertEquals(await check, undefined);
  });
});
