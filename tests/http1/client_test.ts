import assert from "node:assert/strict";
import { UpstreamError } from "../../src/errors.ts";
import { createH1Client, type H1Client } from "../../src/http1/client.ts";
import { directPipe } from "../../src/http1/direct_pipe.ts";
import type { UpstreamRequest, UpstreamResponse } from "../../src/http1/upstream.ts";
import { issueLeafCertificate } from "../../src/tls/leaf_cert.ts";
import { loadOrCreateLocalCa } from "../../src/tls/local_ca.ts";

const dec = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// Test servers: Deno.serve for ordinary HTTP, and raw sockets for hand-crafted bytes.

/** Buffered reads on a raw server connection. */
class Wire {
  #buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      return false;
    }
    if (n === null) return false;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  /** Reads one request head; null when the client closed first. */
  async head(): Promise<string | null> {
    for (;;) {
      const text = dec.decode(this.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        this.#buf = this.#buf.slice(end + 4);
        return text.slice(0, end + 4);
      }
      if (!(await this.#more())) return null;
    }
  }

  /** Reads exactly `n` body bytes (or fewer if the client closed). */
  async bytes(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n && (await this.#more()));
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(out.length);
    return out;
  }

  /** Resolves true when the client closes the connection (reading and dropping data). */
  async closed(): Promise<boolean> {
    while (await this.#more()) this.#buf = new Uint8Array(0);
    return true;
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }
}

/** Encodes each char as one byte, so tests can write any byte with "\xNN". */
function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

interface RawServer {
  readonly url: URL;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** A server that runs `onConn` for each accepted connection (index counts from 0). */
function rawServer(onConn: (wire: Wire, index: number) => Promise<void>): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  let accepted = 0;
  const loop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      const index = accepted++;
      tasks.push(
        onConn(new Wire(conn), index).catch(() => {}).finally(() => {
          conns.delete(conn);
          try {
            conn.close();
          } catch {
            // closed by the handler
          }
        }),
      );
    }
  })();
  return {
    url: new URL(`http://127.0.0.1:${listener.addr.port}`),
    accepted: () => accepted,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // already closed
        }
      }
      await loop;
      await Promise.all(tasks);
    },
  };
}

/** A raw server answering every request on every connection with `response` (keep-alive). */
function answering(response: string | ((head: string) => string)): RawServer {
  return rawServer(async (wire) => {
    for (;;) {
      const head = await wire.head();
      if (head === null) return;
      await wire.send(typeof response === "string" ? response : response(head));
    }
  });
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

function request(url: URL | string, init: Partial<UpstreamRequest> = {}): UpstreamRequest {
  const target = new URL(url);
  return {
    url: target,
    method: "GET",
    headers: new Headers({ host: target.host }),
    body: null,
    signal: new AbortController().signal,
    upstream: "application",
    timeoutMs: 5000,
    ...init,
  };
}

async function bodyText(res: UpstreamResponse): Promise<string> {
  return res.body === null ? "" : await new Response(res.body).text();
}

/** The body as a stream; fails when it came whole as bytes. */
function streamOf(res: UpstreamResponse): ReadableStream<Uint8Array> {
  assert.ok(res.body instanceof ReadableStream, "expected a streamed body");
  return res.body;
}

async function assertUpstreamError(
  promise: Promise<unknown>,
  code: UpstreamError["code"],
  message?: RegExp,
): Promise<UpstreamError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UpstreamError, `expected an UpstreamError, got ${err}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

/** Runs `fn` with a fresh client and a server, closing both afterwards. */
async function using<S extends { close(): Promise<void> }>(
  server: S,
  fn: (client: H1Client, server: S) => Promise<void>,
  options?: Parameters<typeof createH1Client>[0],
): Promise<void> {
  const client = createH1Client(options);
  try {
    await fn(client, server);
  } finally {
    client.close();
    await server.close();
    // Let reads cancelled by close() settle before the op sanitizer looks.
    await new Promise((r) => setTimeout(r, 0));
  }
}

function serve(handler: Deno.ServeHandler<Deno.NetAddr>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    url: new URL(`http://127.0.0.1:${server.addr.port}`),
    close: () => server.shutdown(),
  };
}

/** A stream of `total` patterned bytes in `chunk`-sized pieces, produced on demand. */
function patterned(total: number, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  const block = new Uint8Array(chunk).map((_, i) => i % 251);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      c.enqueue(block.slice(0, n));
      sent += n;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Requests

Deno.test("createH1Client() sends the request head as given, with its own framing", async (t) => {
  const heads: string[] = [];
  await using(
    answering((head) => {
      heads.push(head);
      return OK;
    }),
    async (client, server) => {
      await t.step("method, path with query, headers and the given host", async () => {
        const headers = new Headers({ host: "example.test:4000", "x-a": "1", "user-agent": "t" });
        const res = await client(request(new URL("/p/a%20b?q=1&r", server.url), { headers }));
        assert.equal(await bodyText(res), "ok");
        const lines = heads[0].split("\r\n");
        assert.equal(lines[0], "GET /p/a%20b?q=1&r HTTP/1.1");
        assert.ok(lines.includes("host: example.test:4000"));
        assert.ok(lines.includes("x-a: 1"));
        assert.ok(lines.includes("user-agent: t"));
        assert.ok(lines.includes("connection: keep-alive"));
        assert.equal(lines.filter((l) => l.startsWith("host:")).length, 1);
      });
      await t.step("connection and framing headers from the caller are not forwarded", async () => {
        const headers = new Headers({
          host: "h",
          connection: "close",
          "keep-alive": "timeout=5",
          "transfer-encoding": "gzip",
        });
        await bodyText(await client(request(server.url, { headers })));
        const lines = heads[1].toLowerCase().split("\r\n");
        assert.ok(lines.includes("connection: keep-alive"));
        assert.ok(!lines.some((l) => l.startsWith("keep-alive") || l.startsWith("transfer-")));
      });
      await t.step("a missing host is taken from the URL", async () => {
        await bodyText(await client(request(server.url, { headers: new Headers() })));
        assert.ok(heads[2].includes(`\r\nhost: ${server.url.host}\r\n`));
      });
      await t.step("a bodyless POST says content-length: 0", async () => {
        await bodyText(await client(request(server.url, { method: "POST" })));
        assert.ok(heads[3].startsWith("POST / HTTP/1.1\r\n"));
        assert.ok(heads[3].includes("\r\ncontent-length: 0\r\n"));
      });
      await t.step("Latin-1 header values go out as single bytes", async () => {
        const headers = new Headers({ host: "h", "x-name": "caf\u00e9" });
        await bodyText(await client(request(server.url, { headers })));
        // The raw server decodes as UTF-8: a lone 0xE9 byte is not valid UTF-8.
        assert.ok(heads[4].includes("x-name: caf\ufffd\r\n"));
      });
      await t.step("a head larger than the write buffer goes out whole", async () => {
        const cookie = "c=" + "x".repeat(40_000);
        await bodyText(await client(request(server.url, { headers: new Headers({ cookie }) })));
        assert.ok(heads[5].includes(`\r\ncookie: ${cookie}\r\n`));
      });
      assert.equal(server.accepted(), 1, "all requests shared one connection");
    },
  );
});

Deno.test("createH1Client() streams request bodies of 64 MiB, chunked or by length", async (t) => {
  const total = 64 * 1024 * 1024;
  await using(
    serve(async (req) => {
      let bytes = 0;
      let intact = true;
      for await (const chunk of req.body!) {
        for (let i = 0; i < chunk.length; i += 997) {
          intact &&= chunk[i] === ((bytes + i) % (64 * 1024)) % 251;
        }
        bytes += chunk.length;
      }
      return Response.json({
        bytes,
        intact,
        te: req.headers.get("transfer-encoding"),
        cl: req.headers.get("content-length"),
      });
    }),
    async (client, server) => {
      await t.step("unknown length goes chunked", async () => {
        const res = await client(request(server.url, { method: "PUT", body: patterned(total) }));
        const got = JSON.parse(await bodyText(res));
        assert.deepEqual(got, { bytes: total, intact: true, te: "chunked", cl: null });
      });
      await t.step("a Content-Length from the caller frames the body", async () => {
        const headers = new Headers({ host: "h", "content-length": String(total) });
        const res = await client(
          request(server.url, { method: "PUT", headers, body: patterned(total) }),
        );
        const got = JSON.parse(await bodyText(res));
        assert.deepEqual(got, { bytes: total, intact: true, te: null, cl: String(total) });
      });
      await t.step("an empty chunked body is just the last chunk", async () => {
        const res = await client(request(server.url, { method: "POST", body: patterned(0) }));
        assert.equal(JSON.parse(await bodyText(res)).bytes, 0);
      });
    },
  );
});

Deno.test("createH1Client() fails a request whose body does not match its Content-Length", async (t) => {
  const seen: number[] = [];
  await using(
    rawServer(async (wire) => {
      const head = await wire.head();
      if (head === null) return;
      const length = Number(/content-length: (\d+)/.exec(head)![1]);
      const got = await wire.bytes(length);
      seen.push(got.length);
      if (got.length === length) await wire.send(OK);
      await wire.closed();
    }),
    async (client, server) => {
      await t.step("shorter: the upstream never sees a complete body", async () => {
        const headers = new Headers({ host: "h", "content-length": "10" });
        await assertUpstreamError(
          client(request(server.url, { method: "POST", headers, body: patterned(4) })),
          "ERR_UPSTREAM_PROTOCOL",
          /body is shorter than its Content-Length \(4 of 10 bytes\)/,
        );
      });
      await t.step("longer: the excess is never sent", async () => {
        const headers = new Headers({ host: "h", "content-length": "3" });
        const body = patterned(8, 4);
        const answer = client(request(server.url, { method: "POST", headers, body }));
        // The upstream may answer after 3 bytes; the caller's bug must not pass silently.
        try {
          const res = await answer;
          await bodyText(res);
          assert.fail("expected the request to fail");
        } catch (err) {
          assert.ok(err instanceof UpstreamError);
          assert.match(err.message, /longer than its Content-Length \(3 bytes\)/);
        }
      });
      await t.step("a Content-Length with no body at all", async () => {
        const headers = new Headers({ host: "h", "content-length": "5" });
        await assertUpstreamError(
          client(request(server.url, { method: "POST", headers })),
          "ERR_UPSTREAM_PROTOCOL",
          /has no body but a Content-Length of 5/,
        );
      });
      await t.step("an invalid Content-Length", async () => {
        const headers = new Headers({ host: "h", "content-length": "1e3" });
        await assertUpstreamError(
          client(request(server.url, { method: "POST", headers, body: patterned(1000) })),
          "ERR_UPSTREAM_PROTOCOL",
          /invalid Content-Length/,
        );
      });
    },
  );
  assert.deepEqual(seen.slice(0, 1), [4]);
});

// ---------------------------------------------------------------------------------------------
// Responses: framing

Deno.test("createH1Client() frames responses exactly", async (t) => {
  const cases: {
    name: string;
    response: string;
    method?: string;
    body: string | null;
    /** Whether the connection may carry the next request. */
    reused: boolean;
    check?: (res: UpstreamResponse) => void;
  }[] = [
    {
      name: "Content-Length",
      response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
      body: "hello",
      reused: true,
    },
    {
      name: "a list of equal Content-Length values",
      response: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello",
      body: "hello",
      reused: true,
    },
    {
      name: "chunked with extensions and trailers",
      response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
        '5;name=value\r\nhello\r\n6 ; a="b c" ;d\r\n world\r\nA\r\n0123456789\r\n' +
        "0;last\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n",
      body: "hello world0123456789",
      reused: true,
      check: (res) => assert.equal(res.headers.get("x-trailer"), null),
    },
    {
      name: "chunked with upper-case hex and bare LF line ends",
      response: "HTTP/1.1 200 OK\nTransfer-Encoding: Chunked\n\n1A\n" + "x".repeat(26) + "\n0\n\n",
      body: "x".repeat(26),
      reused: true,
    },
    {
      name: "close-delimited",
      response: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
      body: "until the end",
      reused: false,
    },
    {
      name: "HEAD with a Content-Length and no body",
      method: "HEAD",
      response: "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
      body: null,
      reused: true,
      check: (res) => assert.equal(res.headers.get("content-length"), "1234"),
    },
    {
      name: "204 with a bogus body (ignored, connection dropped)",
      response: "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
      body: null,
      reused: false,
    },
    {
      name: "304 without a body",
      response: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n',
      body: null,
      reused: true,
    },
    {
      name: "Content-Length: 0",
      response: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
      body: null,
      reused: true,
    },
    {
      name: "100 Continue and 103 Early Hints before the answer",
      response: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
        "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      body: "ok",
      reused: true,
      check: (res) => {
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("link"), null);
      },
    },
    {
      name: "Connection: close",
      response: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
      body: "ok",
      reused: false,
    },
    {
      name: "HTTP/1.0 without keep-alive",
      response: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
      body: "ok",
      reused: false,
    },
    {
      name: "HTTP/1.0 with keep-alive",
      response: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
      body: "ok",
      reused: true,
    },
    {
      name: "status without a reason phrase, headers as received",
      response: "HTTP/1.1 418\r\nX-A: 1\r\nX-A: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n" +
        "X-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n",
      body: null,
      reused: true,
      check: (res) => {
        assert.equal(res.status, 418);
        assert.equal(res.statusText, "");
        assert.equal(res.headers.get("x-a"), "1, 2");
        assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
        assert.equal(res.headers.get("x-latin"), "caf\u00e9");
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using(
        rawServer(async (wire, index) => {
          for (;;) {
            const head = await wire.head();
            if (head === null) return;
            if (index === 0 && head.includes(" /first ")) {
              await wire.send(c.response);
              // A close-delimited body ends when the server closes.
              if (!c.reused) return;
            } else {
              await wire.send(OK);
            }
          }
        }),
        async (client, server) => {
          const res = await client(
            request(new URL("/first", server.url), { method: c.method ?? "GET" }),
          );
          if (c.body === null) assert.equal(res.body, null);
          else assert.equal(await bodyText(res), c.body);
          c.check?.(res);
          // The next request must get its own answer, on the same connection only if allowed.
          const next = await client(request(new URL("/next", server.url)));
          assert.equal(await bodyText(next), "ok");
          assert.equal(server.accepted(), c.reused ? 1 : 2);
        },
      );
    });
  }
});

Deno.test("createH1Client() parses heads and chunks split anywhere", async () => {
  const response = "HTTP/1.1 200 OK\r\nX-Long: " + "v".repeat(3000) +
    "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n10;e=1\r\n0123456789abcdef\r\n0\r\n\r\n";
  await using(
    rawServer(async (wire) => {
      for (;;) {
        const head = await wire.head();
        if (head === null) return;
        const bytes = latin1(response);
        // One byte at a time around the framing, then in uneven pieces.
        for (let i = 0; i < bytes.length;) {
          const n = i > 3000 && i < 3040 ? 1 : 7;
          await wire.send(bytes.subarray(i, i + n));
          i += n;
          if (i % 5 === 0) await new Promise((r) => setTimeout(r, 0));
        }
      }
    }),
    async (client, server) => {
      for (let i = 0; i < 2; i++) {
        const res = await client(request(server.url));
        assert.equal(res.headers.get("x-long")?.length, 3000);
        assert.equal(await bodyText(res), "abc0123456789abcdef");
      }
      assert.equal(server.accepted(), 1);
    },
  );
});

Deno.test("createH1Client() answers a malformed response with a 502 protocol error", async (t) => {
  const cases: { name: string; response: string; message: RegExp }[] = [
    {
      name: "obs-fold",
      response: "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n",
      message: /folded header line \(obs-fold\)/,
    },
    {
      name: "conflicting Content-Length headers",
      response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      message: /conflicting Content-Length/,
    },
    {
      name: "conflicting values in one Content-Length",
      response: "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
      message: /conflicting Content-Length/,
    },
    {
      name: "a non-numeric Content-Length",
      response: "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
      message: /invalid Content-Length/,
    },
    {
      name: "Transfer-Encoding with Content-Length",
      response:
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      message: /both Transfer-Encoding and Content-Length/,
    },
    {
      name: "an unsupported transfer coding",
      response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
      message: /unsupported Transfer-Encoding/,
    },
    {
      name: "a NUL in a header value",
      response: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
      message: /NUL byte/,
    },
    {
      name: "a bare CR in a header value",
      response: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
      message: /control character/,
    },
    {
      name: "a space before the colon",
      response: "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n",
      message: /invalid header name/,
    },
    {
      name: "a header line without a colon",
      response: "HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 0\r\n\r\n",
      message: /without a name/,
    },
    {
      name: "not HTTP/1.x",
      response: "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
      message: /invalid status line/,
    },
    {
      name: "a status out of range",
      response: "HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n",
      message: /invalid status line/,
    },
    {
      name: "garbage instead of a status line",
      response: "<html>hello</html>\r\n\r\n",
      message: /invalid status line/,
    },
    {
      name: "101 Switching Protocols",
      response: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
      message: /switched protocols \(101\)/,
    },
    {
      name: "a head larger than 64 KiB",
      response: "HTTP/1.1 200 OK\r\n" + "X-Big: " + "x".repeat(70 * 1024) + "\r\n\r\n",
      message: /larger than 64 KiB/,
    },
    {
      name: "a connection closed mid-head",
      response: "HTTP/1.1 200 OK\r\nContent-Le",
      message: /in the middle of the response head/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using(
        rawServer(async (wire) => {
          if ((await wire.head()) === null) return;
          await wire.send(c.response);
        }),
        async (client, server) => {
          const err = await assertUpstreamError(
            client(request(server.url)),
            "ERR_UPSTREAM_PROTOCOL",
            c.message,
          );
          assert.equal(err.status, 502);
          assert.match(err.message, new RegExp(`^the application at ${server.url.origin} `));
        },
      );
    });
  }
});

Deno.test("createH1Client() errors the body stream when the upstream breaks mid-body", async (t) => {
  const cases: { name: string; head: string; body: string; message: RegExp }[] = [
    {
      name: "Content-Length body cut short",
      head: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
      body: "only ten b",
      message: /closed the response before its end/,
    },
    {
      name: "chunked body cut short",
      head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      body: "5\r\nhello\r\n10\r\nabc",
      message: /closed the response before its end/,
    },
    {
      name: "chunked body without its last chunk",
      head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      body: "5\r\nhello\r\n",
      message: /closed the response before its end/,
    },
    {
      name: "an invalid chunk size",
      head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      body: "5\r\nhello\r\nzz\r\n",
      message: /invalid chunk size/,
    },
    {
      name: "a chunk size too large",
      head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      body: "ffffffffffffffff\r\n",
      message: /invalid chunk size/,
    },
    {
      name: "chunk data longer than its size",
      head: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      body: "2\r\nabc\r\n0\r\n\r\n",
      message: /chunk data longer than its size/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      await using(
        rawServer(async (wire) => {
          if ((await wire.head()) === null) return;
          await wire.send(c.head);
          await new Promise((r) => setTimeout(r, 30));
          await wire.send(c.body);
          await new Promise((r) => setTimeout(r, 20));
        }),
        async (client, server) => {
          const res = await client(request(server.url));
          assert.equal(res.status, 200);
          await assertUpstreamError(bodyText(res), "ERR_UPSTREAM_PROTOCOL", c.message);
          assert.equal(server.accepted(), 1);
        },
      );
    });
  }
  await t.step("bad framing read together with the head fails the whole response", async () => {
    await using(
      answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
      async (client, server) => {
        await assertUpstreamError(
          client(request(server.url)),
          "ERR_UPSTREAM_PROTOCOL",
          /invalid chunk size/,
        );
      },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The pool

Deno.test("createH1Client() keeps connections alive and reuses them", async (t) => {
  const ports = new Set<number>();
  await using(
    serve((req, info) => {
      ports.add(info.remoteAddr.port);
      const url = new URL(req.url);
      if (url.pathname === "/chunked") {
        return new Response(patterned(300_000, 1000));
      }
      return new Response("hello " + url.pathname);
    }),
    async (client, server) => {
      await t.step("sequential requests share one connection", async () => {
        for (let i = 0; i < 20; i++) {
          const res = await client(request(new URL(`/${i}`, server.url)));
          assert.equal(await bodyText(res), `hello /${i}`);
        }
        assert.equal(ports.size, 1);
      });
      await t.step("a streamed (chunked) body is read whole before reuse", async () => {
        for (let i = 0; i < 3; i++) {
          const res = await client(request(new URL("/chunked", server.url)));
          assert.equal((await new Response(res.body).arrayBuffer()).byteLength, 300_000);
        }
        assert.equal(ports.size, 1);
      });
      await t.step("concurrent requests open more connections, then reuse them", async () => {
        const batch = () =>
          Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              client(request(new URL(`/c${i}`, server.url))).then(bodyText)),
          );
        assert.deepEqual(await batch(), Array.from({ length: 8 }, (_, i) => `hello /c${i}`));
        const after = ports.size;
        assert.ok(after > 1 && after <= 8, `connections: ${after}`);
        await batch();
        assert.equal(ports.size, after);
      });
    },
  );
});

Deno.test("createH1Client() hands over a body read together with its head as bytes", async (t) => {
  await using(
    answering((head) =>
      head.startsWith("GET /small ")
        ? "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nsmall"
        : "HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + "x".repeat(100_000)
    ),
    async (client, server) => {
      await t.step("a small body: bytes, with the connection already pooled", async () => {
        const res = await client(request(new URL("/small", server.url)));
        assert.ok(res.body instanceof Uint8Array);
        assert.equal(dec.decode(res.body), "small");
        const again = await client(request(new URL("/small", server.url)));
        assert.equal(await bodyText(again), "small");
        assert.equal(server.accepted(), 1);
      });
      await t.step("a body still arriving: a stream", async () => {
        const res = await client(request(new URL("/large", server.url)));
        assert.equal((await new Response(streamOf(res)).text()).length, 100_000);
      });
    },
  );
});

Deno.test("createH1Client() bounds its idle connections and closes them when idle too long", async (t) => {
  const closed: number[] = [];
  await using(
    rawServer(async (wire, index) => {
      for (;;) {
        const head = await wire.head();
        if (head === null) break;
        await new Promise((r) => setTimeout(r, 20));
        await wire.send(OK);
      }
      closed.push(index);
    }),
    async (client, server) => {
      await t.step("only maxIdlePerOrigin connections stay", async () => {
        await Promise.all([1, 2, 3].map(() => client(request(server.url)).then(bodyText)));
        assert.equal(server.accepted(), 3);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(closed.length, 2, "two connections closed at once");
      });
      await t.step("the idle one closes after idleTimeoutMs", async () => {
        await new Promise((r) => setTimeout(r, 600));
        assert.equal(closed.length, 3);
        await bodyText(await client(request(server.url)));
        assert.equal(server.accepted(), 4);
      });
    },
    { maxIdlePerOrigin: 1, idleTimeoutMs: 200 },
  );
});

Deno.test("createH1Client() survives upstreams that close idle keep-alive connections", async (t) => {
  await t.step(
    "closed while idle: noticed, and the next request goes on a new connection",
    async () => {
      await using(
        rawServer(async (wire) => {
          if ((await wire.head()) === null) return;
          await wire.send(OK);
          await new Promise((r) => setTimeout(r, 30));
          // Returning closes the connection, as a keep-alive timeout would.
        }),
        async (client, server) => {
          assert.equal(await bodyText(await client(request(server.url))), "ok");
          await new Promise((r) => setTimeout(r, 100));
          assert.equal(await bodyText(await client(request(server.url))), "ok");
          assert.equal(server.accepted(), 2);
        },
      );
    },
  );

  // The race the idle watch cannot see: the upstream closes just as the request arrives.
  const closingOnSecond = () =>
    rawServer(async (wire, index) => {
      if ((await wire.head()) === null) return;
      await wire.send(OK);
      if (index > 0) {
        await wire.closed();
        return;
      }
      // Reads the second request, then closes without answering.
      await wire.head();
    });

  await t.step("closed as a bodyless request arrives: retried once, transparently", async () => {
    await using(closingOnSecond(), async (client, server) => {
      assert.equal(await bodyText(await client(request(server.url))), "ok");
      assert.equal(await bodyText(await client(request(server.url))), "ok");
      assert.equal(server.accepted(), 2);
    });
  });

  await t.step("a request whose body was started is not retried", async () => {
    await using(closingOnSecond(), async (client, server) => {
      assert.equal(await bodyText(await client(request(server.url))), "ok");
      await assertUpstreamError(
        client(request(server.url, { method: "POST", body: patterned(10) })),
        "ERR_UPSTREAM_PROTOCOL",
        /closed the connection without answering/,
      );
      assert.equal(server.accepted(), 1);
    });
  });

  await t.step("a fresh connection closed without an answer is not retried", async () => {
    await using(
      rawServer(async (wire) => {
        await wire.head();
      }),
      async (client, server) => {
        await assertUpstreamError(
          client(request(server.url)),
          "ERR_UPSTREAM_PROTOCOL",
          /closed the connection without answering/,
        );
        assert.equal(server.accepted(), 1);
      },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Failures, timeouts, cancellation

Deno.test("createH1Client() connects to IPv6 literals", async (t) => {
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname: "::1", port: 0 });
  } catch {
    await t.step({ name: "no IPv6 loopback here", ignore: true, fn: () => {} });
    return;
  }
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const server = Deno.serve({ hostname: "::1", port, onListen() {} }, () => new Response("six"));
  const client = createH1Client();
  try {
    const res = await client(request(`http://[::1]:${port}/`));
    assert.equal(await bodyText(res), "six");
  } finally {
    client.close();
    await server.shutdown();
    await new Promise((r) => setTimeout(r, 0));
  }
});

Deno.test("createH1Client() reports an unreachable upstream as 502", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const client = createH1Client();
  try {
    const err = await assertUpstreamError(
      client(request(`http://127.0.0.1:${port}/`)),
      "ERR_UPSTREAM_UNREACHABLE",
    );
    assert.equal(
      err.message,
      `the application at http://127.0.0.1:${port} could not be reached (ConnectionRefused)`,
    );
    assert.equal(err.status, 502);
    assert.equal(err.upstream, "application");
  } finally {
    client.close();
  }
});

Deno.test("createH1Client() gives up with 504 when no response head arrives in time", async () => {
  await using(
    rawServer(async (wire) => {
      await wire.head();
      await wire.send("HTTP/1.1 200 OK\r\n"); // a partial head does not count
      await wire.closed();
    }),
    async (client, server) => {
      const started = Date.now();
      const err = await assertUpstreamError(
        client(request(server.url, { timeoutMs: 300, upstream: "Ory" })),
        "ERR_UPSTREAM_TIMEOUT",
        /^the Ory at http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.3s$/,
      );
      const took = Date.now() - started;
      assert.ok(took >= 290 && took < 1500, `took ${took} ms`);
      assert.equal(err.status, 504);
    },
  );
});

Deno.test("createH1Client() closes the connection when the client goes away", async (t) => {
  const closedAt: number[] = [];
  const server = rawServer(async (wire, index) => {
    const head = await wire.head();
    if (head?.startsWith("GET /stream ")) {
      await wire.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
    }
    await wire.closed();
    closedAt.push(index);
  });
  await using(server, async (client) => {
    await t.step("aborted while waiting for the head: rejects with the reason", async () => {
      const abort = new AbortController();
      const answer = client(request(server.url, { signal: abort.signal }));
      setTimeout(() => abort.abort(new Error("client gone")), 50);
      await assert.rejects(answer, /client gone/);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(closedAt, [0]);
    });
    await t.step("aborted mid-body: the body stream errors", async () => {
      const abort = new AbortController();
      const res = await client(request(new URL("/stream", server.url), { signal: abort.signal }));
      const reader = streamOf(res).getReader();
      assert.equal(dec.decode((await reader.read()).value), "first");
      abort.abort(new Error("client gone"));
      await assert.rejects(reader.read(), /client gone/);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(closedAt, [0, 1]);
    });
    await t.step("body cancelled by the consumer", async () => {
      const res = await client(request(new URL("/stream", server.url)));
      const reader = streamOf(res).getReader();
      await reader.read();
      await reader.cancel();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(closedAt, [0, 1, 2]);
    });
    await t.step("an already aborted signal sends nothing", async () => {
      const abort = new AbortController();
      abort.abort(new Error("too late"));
      await assert.rejects(client(request(server.url, { signal: abort.signal })), /too late/);
      assert.equal(server.accepted(), 3);
    });
  });
});

Deno.test("createH1Client() stops uploading when the upstream answers early", async () => {
  await using(
    rawServer(async (wire) => {
      if ((await wire.head()) === null) return;
      await wire.send("HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig");
      await wire.closed();
    }),
    async (client, server) => {
      let pulled = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          pulled++;
          await new Promise((r) => setTimeout(r, 5));
          c.enqueue(new Uint8Array(1024));
        },
      });
      const res = await client(request(server.url, { method: "POST", body }));
      assert.equal(res.status, 413);
      assert.equal(await bodyText(res), "big");
      const seen = pulled;
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(pulled <= seen + 1, "the upload stopped");
    },
  );
});

Deno.test("createH1Client() streams a large download with backpressure", async () => {
  const total = 32 * 1024 * 1024;
  await using(
    serve(() => new Response(patterned(total))),
    async (client, server) => {
      const res = await client(request(server.url));
      const reader = streamOf(res).getReader();
      let bytes = 0;
      let ok = true;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (let i = 0; i < value.length; i += 997) {
          ok &&= value[i] === ((bytes + i) % (64 * 1024)) % 251;
        }
        bytes += value.length;
      }
      assert.equal(bytes, total);
      assert.ok(ok, "bytes arrive in order, unchanged");
    },
  );
});

Deno.test("createH1Client() reads a body only as fast as its consumer", async () => {
  const total = 128 * 1024 * 1024;
  let written = 0;
  await using(
    rawServer(async (wire) => {
      if ((await wire.head()) === null) return;
      await wire.send(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`);
      const block = new Uint8Array(256 * 1024);
      while (written < total) {
        await wire.send(block);
        written += block.length;
      }
    }),
    async (client, server) => {
      const res = await client(request(server.url));
      const reader = streamOf(res).getReader();
      let bytes = (await reader.read()).value!.length;
      await new Promise((r) => setTimeout(r, 300));
      // Socket buffers hold some (tens of MiB at most); the rest waits for the reader.
      assert.ok(written < total / 2, `the upstream wrote ${written} bytes unasked`);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
      assert.equal(bytes, total);
    },
  );
});

Deno.test("createH1Client() passes compressed bodies through untouched", async () => {
  const gz = new Uint8Array(
    await new Response(
      new Blob(["hello hello hello"]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  await using(
    serve(() =>
      new Response(gz, { headers: { "content-encoding": "gzip", "content-type": "text/plain" } })
    ),
    async (client, server) => {
      const headers = new Headers({ host: "h", "accept-encoding": "gzip" });
      const res = await client(request(server.url, { headers }));
      assert.equal(res.headers.get("content-encoding"), "gzip");
      assert.deepEqual(new Uint8Array(await new Response(res.body).arrayBuffer()), gz);
    },
  );
});

Deno.test("createH1Client() talks to https upstreams", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const ca = await loadOrCreateLocalCa(dir, { hostname: "h1-client-test" });
    const { cert, key } = await issueLeafCertificate(ca, { hosts: ["127.0.0.1"], validityDays: 1 });
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert, key, onListen() {} },
      (req, info) => new Response(`secure ${req.headers.get("host")} ${info.remoteAddr.port}`),
    );
    const url = new URL(`https://127.0.0.1:${server.addr.port}/`);
    const client = createH1Client({ caCerts: [ca.certPem] });
    const untrusting = createH1Client();
    try {
      await t.step("with the CA trusted, on a kept-alive connection", async () => {
        const headers = new Headers({ host: "app.test" });
        const first = await bodyText(await client(request(url, { headers })));
        const second = await bodyText(await client(request(url, { headers })));
        assert.match(first, /^secure app\.test \d+$/);
        assert.equal(second, first);
      });
      await t.step("an untrusted certificate is unreachable", async () => {
        await assertUpstreamError(
          untrusting(request(url)),
          "ERR_UPSTREAM_UNREACHABLE",
          /could not be reached \(invalid peer certificate/,
        );
      });
    } finally {
      client.close();
      untrusting.close();
      await server.shutdown();
      await new Promise((r) => setTimeout(r, 0));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createH1Client() offers a direct pipe for streamed bodies", async (t) => {
  const big = "y".repeat(300_000);
  await using(
    answering((head) =>
      head.startsWith("GET /chunked ")
        ? "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
          "5\r\nhello\r\n6\r\n world\r\n" +
          `${(100_000).toString(16)}\r\n${"z".repeat(100_000)}\r\n0\r\n\r\n`
        : `HTTP/1.1 200 OK\r\ncontent-length: ${big.length}\r\n\r\n${big}`
    ),
    async (client, server) => {
      for (const path of ["/length", "/chunked"]) {
        await t.step(`${path}: every byte, as views, then the connection is reused`, async () => {
          const res = await client(request(new URL(path, server.url)));
          const pipe = directPipe(streamOf(res));
          assert.ok(pipe !== undefined);
          const parts: Uint8Array[] = [];
          await pipe(async (chunk) => {
            parts.push(chunk.slice()); // a view: valid only until the write resolves
            await Promise.resolve();
          });
          const text = dec.decode(new Uint8Array(parts.flatMap((p) => [...p])));
          assert.equal(
            text,
            path === "/length" ? big : "hello world" + "z".repeat(100_000),
          );
          // The next request goes over the same connection.
          await bodyText(await client(request(new URL(path, server.url))));
          assert.equal(server.accepted(), 1);
        });
      }
      await t.step("a failing write stops the pipe; the connection is not reused", async () => {
        const res = await client(request(new URL("/length", server.url)));
        const pipe = directPipe(streamOf(res))!;
        await assert.rejects(pipe(() => Promise.reject(new Error("client gone"))));
        await bodyText(await client(request(new URL("/length", server.url))));
        assert.equal(server.accepted(), 2);
      });
      await t.step("a stream someone reads has no pipe any more", async () => {
        const res = await client(request(new URL("/length", server.url)));
        const stream = streamOf(res);
        const reader = stream.getReader();
        assert.equal(directPipe(stream), undefined);
        await reader.cancel();
      });
    },
  );
});
