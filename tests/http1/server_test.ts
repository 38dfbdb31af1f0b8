import { type H1Handler, type H1Server, serveH1 } from "../../src/http1/server.ts";
import type { ProxyResult } from "../../src/http1/message.ts";
import { assert } from "../_support/assert.ts";
import { rawRequest } from "../_support/raw_http.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function result(
  status: number,
  body: string | Uint8Array | ReadableStream<Uint8Array> | null,
  headers: HeadersInit = {},
): ProxyResult {
  return {
    status,
    statusText: "",
    headers: new Headers(headers),
    body: typeof body === "string" ? enc.encode(body) : body as ProxyResult["body"],
  };
}

/** A handler that echoes what it received, with a few special paths. */
function echo(aborted: string[]): H1Handler {
  return async (req) => {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/stream":
        return result(200, ReadableStream.from([enc.encode("one,"), enc.encode("two")]));
      case "/broken": {
        let sent = false;
        return result(
          200,
          new ReadableStream({
            pull(c) {
              if (!sent) {
                sent = true;
                c.enqueue(enc.encode("partial"));
              } else c.error(new Error("upstream died"));
            },
          }),
        );
      }
      case "/wait":
        await new Promise<void>((resolve) => {
          req.signal.addEventListener("abort", () => {
            aborted.push(url.pathname);
            resolve();
          });
        });
        return result(502, null);
      case "/empty":
        return result(204, null);
      case "/head":
        return result(200, null, { "content-length": "1234" });
    }
    const body = req.body === null ? "" : await new Response(req.body).text();
    return result(
      200,
      JSON.stringify({
        method: req.method,
        url: req.url,
        expect: req.headers.get("expect"),
        body,
      }),
      { "content-type": "application/json" },
    );
  };
}

async function withServer(
  fn: (server: H1Server, aborted: string[]) => Promise<void>,
  options: { headerTimeoutMs?: number; idleTimeoutMs?: number } = {},
): Promise<void> {
  const aborted: string[] = [];
  const server = serveH1({ hostname: "127.0.0.1", port: 0, ...options }, echo(aborted));
  try {
    await fn(server, aborted);
  } finally {
    await server.shutdown();
  }
}

/** Reads from `conn` until it closes; resolves to the text and when it closed. */
async function readToClose(conn: Deno.Conn): Promise<{ text: string; at: number }> {
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
  } catch {
    // reset: closed too
  }
  return { text, at: performance.now() };
}

Deno.test("serveH1(): keep-alive, pipelining, bodies and framing", async (t) => {
  await withServer(async (server) => {
    const port = server.addr.port;
    await t.step("two pipelined requests are answered in order on one connection", async () => {
      const answer = await rawRequest(
        port,
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        300,
      );
      const first = answer.indexOf('"url":"http://x/a"');
      const second = answer.indexOf('"url":"http://x/b?q=1"');
      assert.ok(first !== -1 && second > first, answer);
      assert.equal(answer.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    });
    await t.step(
      "a chunked request body arrives decoded; Expect: 100-continue is answered",
      async () => {
        const answer = await rawRequest(
          port,
          "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n",
          300,
        );
        assert.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
        assert.match(answer, /"body":"hello world"/);
        assert.match(answer, /"expect":null/); // answered here, not forwarded
      },
    );
    await t.step("a streamed body without a length goes out chunked", async () => {
      const answer = await rawRequest(port, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", 300);
      assert.match(answer, /transfer-encoding: chunked\r\n/);
      assert.match(answer, /\r\n\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n$/);
    });
    await t.step("HTTP/1.0: the body ends with the connection", async () => {
      const answer = await rawRequest(port, "GET /stream HTTP/1.0\r\n\r\n", 1000);
      assert.match(answer, /connection: close\r\n/);
      assert.ok(answer.endsWith("\r\n\r\none,two"), answer);
    });
    await t.step("HEAD keeps the length without a body; 204 has neither", async () => {
      const head = await rawRequest(port, "HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n", 300);
      assert.match(head, /content-length: 1234\r\n/);
      assert.ok(head.endsWith("\r\n\r\n"), head);
      const empty = await rawRequest(port, "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n", 300);
      assert.match(empty, /^HTTP\/1\.1 204 No Content\r\n/);
      assert.doesNotMatch(empty, /content-length/);
    });
    await t.step("a body that fails mid-way ends the response without its last chunk", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(enc.encode("GET /broken HTTP/1.1\r\nHost: x\r\n\r\n"));
      const { text } = await readToClose(conn);
      conn.close();
      assert.match(text, /partial/);
      assert.ok(!text.endsWith("0\r\n\r\n"), "must not look complete");
    });
  });
});

Deno.test("serveH1(): malformed requests are refused and the connection closes", async (t) => {
  await withServer(async (server) => {
    const port = server.addr.port;
    const cases: [string, string, RegExp][] = [
      ["no Host", "GET / HTTP/1.1\r\n\r\n", /^HTTP\/1\.1 400 .*Host header is missing/s],
      ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /^HTTP\/1\.1 400 /],
      ["a bad Host", "GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n", /^HTTP\/1\.1 400 .*Host/s],
      [
        "obs-fold",
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n",
        /^HTTP\/1\.1 400 .*obs-fold/s,
      ],
      [
        "Content-Length and Transfer-Encoding",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        /^HTTP\/1\.1 400 /,
      ],
      [
        "conflicting Content-Length",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        /^HTTP\/1\.1 400 .*conflicting/s,
      ],
      ["a NUL byte", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", /^HTTP\/1\.1 400 .*NUL/s],
      ["HTTP/2 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", /^HTTP\/1\.1 505 /],
      [
        "an unmeetable Expect",
        "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n",
        /^HTTP\/1\.1 417 /,
      ],
      [
        "a head over 48 KiB",
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(50_000)}\r\n\r\n`,
        /^HTTP\/1\.1 431 /,
      ],
    ];
    for (const [name, text, expected] of cases) {
      await t.step(name, async () => {
        const answer = await rawRequest(port, text, 1000);
        assert.match(answer, expected, answer.slice(0, 200));
        assert.match(answer, /connection: close\r\n/);
        assert.equal(answer.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, "nothing after the refusal");
      });
    }
  });
});

Deno.test("serveH1(): a slow client (slowloris) is cut off without blocking others", async (t) => {
  await withServer(async (server) => {
    const port = server.addr.port;
    await t.step("a head trickling in is closed after the header timeout", async () => {
      const slow = await Deno.connect({ hostname: "127.0.0.1", port });
      const started = performance.now();
      await slow.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n"));
      const closed = readToClose(slow);
      let trickling = true;
      void (async () => {
        for (let i = 0; trickling; i++) {
          await new Promise((r) => setTimeout(r, 100));
          await slow.write(enc.encode(`X-${i}: 1\r\n`)).catch(() => trickling = false);
        }
      })();
      // Meanwhile other clients are served at once.
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/other`);
        assert.equal(res.status, 200);
        await res.body?.cancel();
        assert.ok(performance.now() - t0 < 500, "others are not blocked");
      }
      const { text, at } = await closed;
      trickling = false;
      slow.close();
      assert.equal(text, "", "no answer to an unfinished head");
      const after = at - started;
      assert.ok(after >= 900 && after < 2500, `closed after ${after.toFixed(0)} ms`);
    });
    await t.step("a connection that never sends a byte is closed too", async () => {
      const silent = await Deno.connect({ hostname: "127.0.0.1", port });
      const started = performance.now();
      const { at } = await readToClose(silent);
      silent.close();
      assert.ok(at - started < 3500, `closed after ${(at - started).toFixed(0)} ms`);
    });
    assert.equal(server.connections, 0);
  }, { headerTimeoutMs: 1000, idleTimeoutMs: 2000 });
});

Deno.test("serveH1(): a client that leaves mid-request aborts the request", async () => {
  await withServer(async (server, aborted) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(enc.encode("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 100));
    conn.close();
    for (let i = 0; i < 40 && aborted.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.deepEqual(aborted, ["/wait"]);
  });
});

Deno.test("serveH1(): shutdown closes idle connections and lets a request in flight finish", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const server = serveH1({ hostname: "127.0.0.1", port: 0 }, async () => {
    await gate;
    return result(200, "done");
  });
  const port = server.addr.port;
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  const busy = await Deno.connect({ hostname: "127.0.0.1", port });
  await busy.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  await new Promise((r) => setTimeout(r, 100));
  const stopped = server.shutdown();
  const idleClosed = await readToClose(idle);
  assert.equal(idleClosed.text, "");
  release();
  const answer = await readToClose(busy);
  assert.match(answer.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(answer.text, /connection: close\r\n/);
  assert.ok(answer.text.endsWith("done"));
  await stopped;
  idle.close();
  busy.close();
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});

Deno.test("serveH1(): a client that stops reading a streamed response is cut off", async () => {
  let cancelled = false;
  const chunk = new Uint8Array(64 * 1024);
  const server = serveH1(
    { hostname: "127.0.0.1", port: 0, idleTimeoutMs: 1000 },
    () =>
      Promise.resolve(result(
        200,
        new ReadableStream({
          pull(c) {
            c.enqueue(chunk); // endless
          },
          cancel() {
            cancelled = true;
          },
        }),
      )),
  );
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    // Never read: the socket buffers fill up and the server's writes stall.
    const started = performance.now();
    while (!cancelled && performance.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    conn.close();
    assert.ok(cancelled, "the response stream was cancelled");
    assert.ok(performance.now() - started < 4000, "within a few seconds");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveH1(): a pipelined request's body arriving later is read whole", async () => {
  await withServer(async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    // The GET's answer goes out while a read is pending for what follows (the POST's body).
    await conn.write(
      enc.encode(
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    await conn.write(enc.encode("AAAAA"));
    await new Promise((r) => setTimeout(r, 100));
    await conn.write(enc.encode("BBBBB"));
    await new Promise((r) => setTimeout(r, 100));
    await conn.write(enc.encode("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const { text } = await readToClose(conn);
    conn.close();
    assert.match(text, /"url":"http:\/\/x\/a"/);
    assert.match(text, /"url":"http:\/\/x\/b".*"body":"AAAAABBBBB"/s);
    assert.match(text, /"url":"http:\/\/x\/c"/);
  });
});

Deno.test("serveH1(): an upgraded connection carries the upstream's bytes at once", async () => {
  const upstream = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const c = await upstream.accept();
    await c.write(enc.encode("hello from upstream"));
    const buf = new Uint8Array(64);
    const n = await c.read(buf);
    await c.write(enc.encode(` / got ${dec.decode(buf.subarray(0, n ?? 0))}`));
    c.close();
  })();
  const server = serveH1({ hostname: "127.0.0.1", port: 0 }, async () => ({
    status: 101,
    statusText: "",
    headers: new Headers({ connection: "upgrade", upgrade: "websocket" }),
    body: null,
    upgraded: {
      conn: await Deno.connect({
        hostname: "127.0.0.1",
        port: (upstream.addr as Deno.NetAddr).port,
      }),
      leftover: new Uint8Array(0),
    },
  }));
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(
      enc.encode(
        "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
      ),
    );
    // The client says nothing until the upstream has spoken (cut off after 3 s if it never does).
    let text = "";
    const buf = new Uint8Array(4096);
    const timer = setTimeout(() => conn.close(), 3000);
    while (!text.includes("hello from upstream")) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
    clearTimeout(timer);
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n.*\r\n\r\nhello from upstream$/s);
    await conn.write(enc.encode("ping"));
    text += (await readToClose(conn)).text;
    conn.close();
    assert.ok(text.endsWith("hello from upstream / got ping"), text);
    await serving;
  } finally {
    upstream.close();
    await server.shutdown();
  }
});

Deno.test("serveH1(): a Host that does not make a valid URL is refused with 400", async () => {
  await withServer(async (server) => {
    for (const host of ["1.2.3.999", "a%zz", "a:99999"]) {
      const answer = await rawRequest(
        server.addr.port,
        `GET /x HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        500,
      );
      assert.match(answer, /^HTTP\/1\.1 400 .*Host header is invalid/s, host);
    }
  });
});

Deno.test("serveH1(): a Host checked once per connection; a changed one is checked again", async () => {
  await withServer(async (server) => {
    const answer = await rawRequest(
      server.addr.port,
      "GET /a HTTP/1.1\r\nHost: ok.test\r\n\r\nGET /b HTTP/1.1\r\nHost: 1.2.3.999\r\n\r\n",
      500,
    );
    assert.match(
      answer,
      /^HTTP\/1\.1 200 .*"url":"http:\/\/ok\.test\/a".*HTTP\/1\.1 400 .*Host header is invalid/s,
    );
  });
});

Deno.test("serveH1(): with a valid Host, no request target makes a URL the handler cannot parse", async () => {
  // The server checks the Host, not each URL: this holds only if no path can break a URL.
  const targets = [
    "//evil.test/x",
    "/\\evil.test",
    "/%zz%",
    "/..%2f..%2fetc",
    "/a/../../b",
    "/x?q=<>\"'{}|^`",
    "/#frag",
    "/@user:pass@other",
    "/:99999",
    "/[::1]",
    "/\xe9\xff",
    "/?",
    "/;a=b,c",
  ];
  await withServer(async (server) => {
    const text = targets.map((t) => `GET ${t} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n`).join("");
    const answer = await rawRequest(server.addr.port, text, 500);
    const statuses = [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, targets.map(() => "200"), answer);
  });
});

Deno.test("serveH1(): an endless trailer line neither spins nor blocks other clients", async () => {
  await withServer(async (server) => {
    const port = server.addr.port;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    // 9000 bytes of one trailer line, never ended: more than the first body buffer holds.
    await conn.write(
      enc.encode(
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: " +
          "a".repeat(9000),
      ),
    );
    // Timers and other clients still get their turn (a zero-length read loop starved both).
    const ticked = await new Promise<number>((resolve) => {
      let ticks = 0;
      const every = setInterval(() => ticks++, 10);
      setTimeout(() => {
        clearInterval(every);
        resolve(ticks);
      }, 500);
    });
    assert.ok(ticked > 10, `timer ticks: ${ticked}`);
    const res = await fetch(`http://127.0.0.1:${port}/other`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    conn.close();
  });
});

Deno.test("serveH1(): review findings stay fixed", async (t) => {
  await t.step("a client leaving after its request body aborts the request", async () => {
    let aborted = false;
    const server = serveH1({ hostname: "127.0.0.1", port: 0 }, async (req) => {
      await new Response(req.body).arrayBuffer();
      await new Promise<void>((resolve) => {
        req.signal.addEventListener("abort", () => {
          aborted = true;
          resolve();
        });
      });
      return result(502, null);
    });
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(enc.encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"));
      await new Promise((r) => setTimeout(r, 100));
      conn.close();
      for (let i = 0; i < 40 && !aborted; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(aborted, "the signal fired");
    } finally {
      await server.shutdown();
    }
  });
  await t.step("a client that never reads a large byte body is cut off", async () => {
    const server = serveH1(
      { hostname: "127.0.0.1", port: 0, idleTimeoutMs: 500 },
      () => Promise.resolve(result(200, new Uint8Array(64 * 1024 * 1024))),
    );
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      for (let i = 0; i < 60 && server.connections > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(server.connections, 0);
      conn.close();
    } finally {
      await server.shutdown();
    }
  });
  await t.step("HTTP/1.0: chunked means close; 100-continue is not sent", async () => {
    await withServer(async (server) => {
      const answer = await rawRequest(
        server.addr.port,
        "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\n" +
          "Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /second HTTP/1.0\r\n\r\n",
        500,
      );
      assert.doesNotMatch(answer, /100 Continue/);
      assert.match(answer, /^HTTP\/1\.1 200 OK\r\n.*connection: close\r\n/s);
      assert.doesNotMatch(answer, /second/);
    });
  });
});

Deno.test("serveH1(): a refusal quoting a Latin-1 header value has an exact Content-Length", async () => {
  await withServer(async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const head = "GET / HTTP/1.1\r\nHost: x\r\nExpect: caf\xe9\r\n\r\n";
    await conn.write(Uint8Array.from(head, (c) => c.charCodeAt(0)));
    const chunks: number[] = [];
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(...buf.subarray(0, n));
    }
    conn.close();
    const raw = String.fromCharCode(...chunks);
    const [top, body] = raw.split("\r\n\r\n");
    assert.match(top, /^HTTP\/1\.1 417 /);
    assert.equal(Number(/content-length: (\d+)/.exec(top)?.[1]), body.length);
  });
});

Deno.test("serveH1(): small answers in turn on one connection keep their own bytes", async () => {
  // Heads and small bodies are written from one buffer per connection: each answer must
  // still be exactly its own, whether it fits that buffer, is Latin-1, or is larger.
  const bodies = ["a".repeat(10), "b".repeat(5000), "c".repeat(3), "d".repeat(20_000), "e"];
  let i = 0;
  const server = serveH1({ hostname: "127.0.0.1", port: 0 }, () => {
    const body = bodies[i];
    const latin = i % 2 === 1 ? "caf\xe9" : "cafe";
    return Promise.resolve(result(200, body, { "x-n": String(i++), "x-latin": latin }));
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    const one = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    await conn.write(
      enc.encode(
        one.repeat(bodies.length - 1) + one.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"),
      ),
    );
    const chunks: number[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      for (const b of buf.subarray(0, n)) chunks.push(b);
    }
    conn.close();
    let raw = chunks.map((c) => String.fromCharCode(c)).join("");
    for (const [n, body] of bodies.entries()) {
      const end = raw.indexOf("\r\n\r\n");
      const top = raw.slice(0, end);
      assert.match(top, new RegExp(`^HTTP/1\\.1 200 OK\\r\\n.*x-n: ${n}\\r\\n`, "s"));
      // Odd ones are Latin-1: one byte, not UTF-8.
      assert.match(top, n % 2 === 1 ? /x-latin: caf\xe9\r\n/ : /x-latin: cafe\r\n/);
      assert.equal(Number(/content-length: (\d+)/.exec(top)?.[1]), body.length);
      assert.equal(raw.slice(end + 4, end + 4 + body.length), body);
      raw = raw.slice(end + 4 + body.length);
    }
    assert.equal(raw, "");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveH1(): a streamed body that breaks its Content-Length is cut off, never passed off", async (t) => {
  for (const [name, chunks] of [["longer", ["abc", "def"]], ["shorter", ["a"]]] as const) {
    await t.step(`${name} than declared`, async () => {
      const finished: unknown[] = [];
      const server = serveH1({ hostname: "127.0.0.1", port: 0 }, () => {
        const res = result(200, ReadableStream.from(chunks.map((c) => enc.encode(c))), {
          "content-length": "3",
        });
        res.onFinished = (bytes, error) => finished.push(bytes, (error as Error)?.message);
        return Promise.resolve(res);
      });
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
        await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        const { text } = await readToClose(conn); // closed by the server, not kept alive
        conn.close();
        const body = text.slice(text.indexOf("\r\n\r\n") + 4);
        assert.ok(text.startsWith("HTTP/1.1 200 "), text);
        assert.ok(body.length <= 3, `no byte past the declared length: ${JSON.stringify(body)}`);
        assert.equal(finished[1], `the body is ${name} than declared`);
      } finally {
        await server.shutdown();
      }
    });
  }
});
