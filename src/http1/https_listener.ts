/**
 * An HTTPS listener that also answers plain HTTP sent to its port (see
 * {@linkcode plainHttpAnswer}) instead of a TLS alert a browser or curl cannot explain
 * ("Received HTTP/0.9").
 *
 * Telling the two apart needs a connection's first byte (0x16 starts a TLS handshake), and
 * Deno 2.9 cannot put read bytes back: `Deno.startTls` is client-only, a `Deno.listenTls`
 * connection that received plain HTTP only reports "received corrupt message of type
 * InvalidContentType" after it has sent its alert, and nothing peeks. So the public port is a
 * plain TCP listener that reads the first bytes; a TLS connection is relayed, those bytes first,
 * to a `Deno.listenTls` listener on an ephemeral 127.0.0.1 port, whose connections this
 * listener hands out with the real client's address. The relay costs two extra reads and writes
 * per chunk, which local development (`proxy local`) does not notice.
 *
 * @example
 * ```ts ignore
 * import { listenHttps } from "./https_listener.ts";
 * const listener = listenHttps({
 *   hostname: "127.0.0.1", port: 4000, cert, key, httpsOrigin: "https://localhost:4000",
 * });
 * const conn = await listener.accept(); // a TLS connection; plain HTTP was already answered
 * ```
 */
import { plainHttpAnswer } from "./plain_http_answer.ts";

/** What {@linkcode listenHttps} needs. */
export interface HttpsListenerOptions {
  readonly hostname: string;
  readonly port: number;
  /** PEM certificate chain. */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
  /** Where plain-HTTP requests are sent, e.g. `https://localhost:4000`. */
  readonly httpsOrigin: string;
  /** Time a new connection has to send its first bytes (default 10 s). */
  readonly firstBytesTimeoutMs?: number;
  /** Told about each plain-HTTP request that was answered. */
  readonly onPlainHttp?: (remote: Deno.NetAddr) => void;
  /**
   * Share the port with other listeners that set it too (`SO_REUSEPORT`; Linux balances new
   * connections between them; needs `--unstable-net`). Each has its own TLS side.
   */
  readonly reusePort?: boolean;
}

/** First byte of a TLS record carrying a handshake message (RFC 8446 §5.1). */
const TLS_HANDSHAKE = 0x16;
const FIRST_READ_BYTES = 16 * 1024;
const RELAY_BYTES = 16 * 1024;
/** How long a relayed connection's TLS side may wait to be matched with its client. */
const MATCH_TIMEOUT_MS = 5_000;
/** How long a relay stays up after the server stopped writing (it may linger, reading). */
const HALF_CLOSED_MS = 10_000;
/** After a plain-HTTP answer, how long the rest of the request is read (see #answerPlain). */
const DRAIN_MS = 1_000;
const DRAIN_BYTES = 64 * 1024;

/**
 * Listens on `hostname:port` for HTTPS; throws what `Deno.listen` throws (address in use,
 * permission denied) or what `Deno.listenTls` throws for an unusable certificate or key.
 */
export function listenHttps(options: HttpsListenerOptions): Deno.Listener<Deno.Conn, Deno.NetAddr> {
  return new HttpsListener(options);
}

class HttpsListener implements Deno.Listener<Deno.Conn, Deno.NetAddr> {
  readonly addr: Deno.NetAddr;
  readonly #outer: Deno.TcpListener;
  readonly #inner: Deno.TlsListener;
  readonly #innerPort: number;
  readonly #ready: Deno.Conn[] = [];
  readonly #waiters: { resolve: (c: Deno.Conn) => void; reject: (e: Error) => void }[] = [];
  /** Relays waiting for their TLS side, by the relay connection's local port. */
  readonly #clients = new Map<number, { remote: Deno.NetAddr; local: Deno.NetAddr }>();
  /** TLS sides accepted before their relay was registered, by the same port. */
  readonly #early = new Map<number, Deno.TlsConn>();
  /** Connections whose first bytes are still awaited. */
  readonly #sniffing = new Set<Deno.Conn>();
  #closed = false;

  constructor(readonly options: HttpsListenerOptions) {
    this.#outer = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      ...options.reusePort ? { reusePort: true } : {},
    });
    try {
      this.#inner = Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: options.cert,
        key: options.key,
      });
    } catch (err) {
      this.#outer.close();
      throw err;
    }
    this.addr = this.#outer.addr;
    this.#innerPort = this.#inner.addr.port;
    void this.#acceptOuter();
    void this.#acceptInner();
  }

  accept(): Promise<Deno.Conn> {
    const conn = this.#ready.shift();
    if (conn) return Promise.resolve(conn);
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Listener closed"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("Listener already closed");
    this.#closed = true;
    closeQuietly(this.#outer);
    closeQuietly(this.#inner);
    for (const conn of [...this.#sniffing, ...this.#ready, ...this.#early.values()]) {
      closeQuietly(conn);
    }
    this.#sniffing.clear();
    this.#ready.length = 0;
    this.#early.clear();
    for (const w of this.#waiters.splice(0)) {
      w.reject(new Deno.errors.BadResource("Listener closed"));
    }
  }

  ref(): void {
    this.#outer.ref();
    this.#inner.ref();
  }

  unref(): void {
    this.#outer.unref();
    this.#inner.unref();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.Conn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource) return;
        throw err;
      }
    }
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }

  #deliver(conn: Deno.Conn): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(conn);
    else this.#ready.push(conn);
  }

  async #acceptOuter(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#outer.accept();
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        // Out of file descriptors and the like: tell the server, and back off.
        this.#waiters.shift()?.reject(err as Error);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      void this.#sniff(conn);
    }
  }

  async #acceptInner(): Promise<void> {
    while (!this.#closed) {
      let tls: Deno.TlsConn;
      try {
        tls = await this.#inner.accept();
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const port = tls.remoteAddr.port;
      const client = this.#clients.get(port);
      if (client) {
        this.#clients.delete(port);
        this.#deliver(new RelayedConn(tls, client.remote, client.local));
        continue;
      }
      // Its relay has not registered yet (or it is not ours: then nobody claims it).
      this.#early.set(port, tls);
      setTimeout(() => {
        if (this.#early.get(port) === tls) {
          this.#early.delete(port);
          closeQuietly(tls);
        }
      }, MATCH_TIMEOUT_MS);
    }
  }

  async #sniff(conn: Deno.TcpConn): Promise<void> {
    conn.setNoDelay(true);
    this.#sniffing.add(conn);
    const first = new Uint8Array(FIRST_READ_BYTES);
    // A connection that sends nothing (a browser's preconnect, a port probe) is closed after
    // the timeout; closing it ends the pending read.
    const timer = setTimeout(
      () => closeQuietly(conn),
      this.options.firstBytesTimeoutMs ?? 10_000,
    );
    let n: number | null;
    try {
      n = await conn.read(first);
    } catch {
      n = null;
    } finally {
      clearTimeout(timer);
      this.#sniffing.delete(conn);
    }
    if (n === null || this.#closed) {
      closeQuietly(conn);
      return;
    }
    if (first[0] === TLS_HANDSHAKE) await this.#relay(conn, first.subarray(0, n));
    else await this.#answerPlain(conn, first.subarray(0, n));
  }

  async #relay(client: Deno.TcpConn, first: Uint8Array): Promise<void> {
    let inner: Deno.TcpConn;
    try {
      inner = await Deno.connect({ hostname: "127.0.0.1", port: this.#innerPort });
    } catch {
      closeQuietly(client);
      return;
    }
    inner.setNoDelay(true);
    const port = inner.localAddr.port;
    const early = this.#early.get(port);
    if (early) {
      this.#early.delete(port);
      this.#deliver(new RelayedConn(early, client.remoteAddr, client.localAddr));
    } else {
      this.#clients.set(port, { remote: client.remoteAddr, local: client.localAddr });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closeBoth = () => {
      clearTimeout(timer);
      this.#clients.delete(port);
      closeQuietly(client);
      closeQuietly(inner);
    };
    // Each direction's end is passed on as a half-close, as TCP carries it: the server
    // half-closes to linger after an early answer (reading the rest of an upload so the
    // client gets the answer instead of a reset), a client may half-close after its request.
    // Once the server has stopped writing, the client gets a bounded time to finish.
    const up = pump(client, inner, first).then(() => inner.closeWrite()).catch(closeBoth);
    const down = pump(inner, client).then(async () => {
      timer = setTimeout(closeBoth, HALF_CLOSED_MS);
      await client.closeWrite();
    }).catch(closeBoth);
    await Promise.all([up, down]);
    closeBoth();
  }

  async #answerPlain(conn: Deno.TcpConn, first: Uint8Array): Promise<void> {
    const answer = plainHttpAnswer(first, this.options.httpsOrigin);
    if (answer) {
      try {
        await writeAll(conn, answer);
        this.options.onPlainHttp?.(conn.remoteAddr);
        // Closing with unread input makes the kernel send a reset, which can destroy the
        // answer before the client reads it: end our side, then read what is left for a
        // moment, as Go's server does.
        await conn.closeWrite();
        await drain(conn);
      } catch {
        // the client went away
      }
    }
    closeQuietly(conn);
  }
}

/** A relayed TLS connection that reports the real client's addresses. */
class RelayedConn implements Deno.Conn<Deno.NetAddr> {
  constructor(
    readonly tls: Deno.TlsConn,
    readonly remoteAddr: Deno.NetAddr,
    readonly localAddr: Deno.NetAddr,
  ) {}
  read(p: Uint8Array): Promise<number | null> {
    return this.tls.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    return this.tls.write(p);
  }
  close(): void {
    this.tls.close();
  }
  closeWrite(): Promise<void> {
    return this.tls.closeWrite();
  }
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.tls.handshake();
  }
  ref(): void {
    this.tls.ref();
  }
  unref(): void {
    this.tls.unref();
  }
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.tls.readable;
  }
  get writable(): WritableStream<Uint8Array<ArrayBufferLike>> {
    return this.tls.writable;
  }
  [Symbol.dispose](): void {
    closeQuietly(this.tls);
  }
}

async function pump(from: Deno.Conn, to: Deno.Conn, first?: Uint8Array): Promise<void> {
  if (first) await writeAll(to, first);
  const buf = new Uint8Array(RELAY_BYTES);
  for (;;) {
    const n = await from.read(buf);
    if (n === null) return;
    await writeAll(to, buf.subarray(0, n));
  }
}

async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  const timer = setTimeout(() => closeQuietly(conn), DRAIN_MS);
  try {
    for (let total = 0; total < DRAIN_BYTES;) {
      const n = await conn.read(buf);
      if (n === null) break;
      total += n;
    }
  } catch {
    // closed by the timer, or reset
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let i = 0; i < data.length;) i += await conn.write(data.subarray(i));
}

function closeQuietly(closable: { close(): void }): void {
  try {
    closable.close();
  } catch {
    // already closed
  }
}
