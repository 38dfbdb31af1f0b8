import { describeFetchError } from "../../src/runtime/fetch_error.ts";
import { prepareLocalTls } from "../../src/tls/local_tls.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  listener.close();
  return listener.addr.port;
}

async function failure(url: string, init: RequestInit = {}): Promise<unknown> {
  return await fetch(url, init).then(async (res) => {
    await res.body?.cancel();
    throw new Error(`expected ${url} to fail, got ${res.status}`);
  }, (err) => err);
}

Deno.test("describeFetchError() names real fetch failures", async (t) => {
  await t.step("connection refused", async () => {
    const err = await failure(`http://127.0.0.1:${closedPort()}/`);
    assertEquals(describeFetchError(err), "connection refused");
  });
  await t.step("a DNS failure", async () => {
    const err = await failure("http://orygate-test.invalid/");
    assertMatch(describeFetchError(err), /^DNS failure \(.+\)$/);
  });
  await t.step("a TLS error: the server's certificate is not trusted", async () => {
    const dir = await Deno.makeTempDir();
    const tls = await prepareLocalTls({ dir, installCert: false });
    const server = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key });
    const accepting = (async () => {
      for await (const conn of server) conn.handshake().catch(() => {}).finally(() => conn.close());
    })();
    try {
      const err = await failure(`https://localhost:${server.addr.port}/`);
      assertMatch(describeFetchError(err), /^TLS error \(invalid peer certificate: .+\)$/);
    } finally {
      server.close();
      await accepting.catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("a TLS error: the server speaks plain HTTP", async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("plain"),
    );
    try {
      const err = await failure(`https://127.0.0.1:${server.addr.port}/`);
      assertMatch(describeFetchError(err), /^TLS error \(.*InvalidContentType.*\)$/);
    } finally {
      await server.shutdown();
    }
  });
  await t.step("a timeout", async () => {
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    try {
      const err = await failure(`http://127.0.0.1:${silent.addr.port}/`, {
        signal: AbortSignal.timeout(200),
      });
      assertEquals(describeFetchError(err, { timeoutMs: 200 }), "timeout: no answer within 200ms");
      assertEquals(describeFetchError(err), "timeout: no answer in time");
    } finally {
      silent.close();
      await accepting.catch(() => {});
      for (const conn of held) conn.close();
    }
  });
});

Deno.test("describeFetchError() reads causes it was handed", async (t) => {
  const wrap = (message: string) => new TypeError("fetch failed", { cause: new Error(message) });
  const cases: [unknown, string][] = [
    [
      wrap(
        "error sending request for url (http://x/): client error (Connect): tcp connect error: Connection refused (os error 111)",
      ),
      "connection refused",
    ],
    [
      wrap(
        "error sending request from 127.0.0.1:1 for http://x/ (127.0.0.1:2): client error (SendRequest): connection closed before message completed",
      ),
      "the connection closed before an answer",
    ],
    [
      wrap("error sending request for url (http://x/): connection reset by peer"),
      "connection reset",
    ],
    [
      new TypeError("Fetch failed: Requests to port 1 are blocked"),
      "Requests to port 1 are blocked",
    ],
    [new TypeError("fetch failed"), "unknown error"],
    ["a string", "a string"],
    [new Error("something else"), "something else"],
  ];
  for (const [err, expected] of cases) {
    await t.step(expected, () => assertEquals(describeFetchError(err), expected));
  }
});
