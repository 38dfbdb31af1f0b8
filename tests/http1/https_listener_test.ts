/**
 * listenHttps(): TLS clients get a TLS connection (with their own address), plain HTTP gets an
 * answer it can act on, and nothing lingers after close().
 */
import { listenHttps } from "../../src/http1/https_listener.ts";
import { prepareLocalTls } from "../../src/tls/local_tls.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_support/assert.ts";
import { rawRequest } from "../_support/raw_http.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function withListener(
  fn: (port: number, listener: Deno.Listener, ca: string) => Promise<void>,
  options: { firstBytesTimeoutMs?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const tls = await prepareLocalTls({ dir, installCert: false });
  const listener = listenHttps({
    hostname: "127.0.0.1",
    port: 0,
    cert: tls.cert,
    key: tls.key,
    httpsOrigin: "https://localhost:4000",
    ...options,
  });
  try {
    await fn(listener.addr.port, listener, await Deno.readTextFile(tls.caFile!));
  } finally {
    try {
      listener.close();
    } catch {
      // closed by the test
    }
    await Deno.remove(dir, { recursive: true });
  }
}

async function readAll(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    text += dec.decode(buf.subarray(0, n));
  }
  return text;
}

Deno.test("listenHttps() hands out TLS connections that carry the client's own address", async () => {
  await withListener(async (port, listener, ca) => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [ca] });
    const accepted = listener.accept();
    await client.write(enc.encode("ping"));
    const server = await accepted;
    assertEquals((server.remoteAddr as Deno.NetAddr).port, (tcp.localAddr as Deno.NetAddr).port);
    assertEquals((server.localAddr as Deno.NetAddr).port, port);
    const buf = new Uint8Array(16);
    assertEquals(dec.decode(buf.subarray(0, (await server.read(buf))!)), "ping");
    // A large answer crosses the relay whole, and the server's close ends the client's input.
    const big = new Uint8Array(3 * 1024 * 1024).fill(120);
    const reading = readAll(client);
    for (let i = 0; i < big.length;) i += await server.write(big.subarray(i));
    server.close();
    assertEquals((await reading).length, big.length);
    client.close();
  });
});

Deno.test("listenHttps() passes half-closes through: a server may answer, then read on", async () => {
  await withListener(async (port, listener, ca) => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    const client = await Deno.startTls(tcp, { hostname: "localhost", caCerts: [ca] });
    const accepted = listener.accept();
    await client.write(enc.encode("upload part 1;"));
    const server = await accepted;
    const buf = new Uint8Array(64);
    await server.read(buf);
    // An early answer, then the server's half-close (the server lingers like this after a 401).
    await server.write(enc.encode("401"));
    await server.closeWrite();
    assertEquals(await readAll(client), "401");
    // The client is still sending, and the server still reads it.
    await client.write(enc.encode("upload part 2"));
    assertEquals(dec.decode(buf.subarray(0, (await server.read(buf))!)), "upload part 2");
    await client.closeWrite();
    assertEquals(await server.read(buf), null);
    server.close();
    client.close();
  });
});

Deno.test("listenHttps() answers plain HTTP with a redirect to the https origin", async () => {
  await withListener(async (port) => {
    const answer = await rawRequest(port, "GET /members?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assertMatch(answer, /^HTTP\/1\.1 307 Temporary Redirect\r\n/);
    assertMatch(answer, /\r\nLocation: https:\/\/localhost:4000\/members\?x=1\r\n/);
    const post = await rawRequest(port, "POST /f HTTP/1.1\r\nContent-Length: 3\r\n\r\na=b");
    assertMatch(
      post,
      /^HTTP\/1\.1 400 Bad Request\r\n[^]*HTTPS server: use https:\/\/localhost:4000\/f\n$/,
    );
  });
});

Deno.test("listenHttps() answers fetch() over plain http, and closes bytes that are not HTTP", async () => {
  await withListener(async (port) => {
    const res = await fetch(`http://127.0.0.1:${port}/a`, { redirect: "manual" });
    assertEquals(res.status, 307);
    assertEquals(res.headers.get("location"), "https://localhost:4000/a");
    assertEquals(await res.text(), "This port speaks HTTPS: use https://localhost:4000/a\n");
    assertEquals(await rawRequest(port, "SSH-2.0-OpenSSH_9.6\r\n"), "");
  });
});

Deno.test("listenHttps() closes a connection that sends nothing in time", async () => {
  await withListener(async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const started = Date.now();
    assertEquals(await conn.read(new Uint8Array(8)), null);
    assert(Date.now() - started < 2000, "closed after the first-bytes timeout");
    conn.close();
  }, { firstBytesTimeoutMs: 200 });
});

Deno.test("listenHttps() close() ends a pending accept and frees the port", async () => {
  await withListener(async (port, listener) => {
    const pending = listener.accept();
    listener.close();
    await assertThrows(() => pending, Deno.errors.BadResource);
    // As with Deno.listen, the socket is released once the accept under way has ended.
    await new Promise((r) => setTimeout(r, 10));
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  });
});

Deno.test("listenHttps() throws AddrInUse for a taken port", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await withListener(async () => {
      const dir = await Deno.makeTempDir();
      const tls = await prepareLocalTls({ dir, installCert: false });
      await assertThrows(
        () =>
          listenHttps({
            hostname: "127.0.0.1",
            port: taken.addr.port,
            cert: tls.cert,
            key: tls.key,
            httpsOrigin: "https://localhost:1",
          }),
        Deno.errors.AddrInUse,
      );
      await Deno.remove(dir, { recursive: true });
    });
  } finally {
    taken.close();
  }
});
