/**
 * An {@linkcode UpstreamClient} that speaks HTTP/1.1 itself over `Deno.connect` (and
 * `Deno.startTls` for https upstreams), with a keep-alive pool per origin.
 *
 * Why not `fetch`: it decompresses bodies while keeping `Content-Encoding`, and ignores a
 * `Host` header. Why not `node:http`: it is slower here and frees its Buffers late, so a large
 * download inflates memory. This client passes bytes through untouched, frames strictly
 * (RFC 9112: a malformed answer is a 502, never guessed at), streams bodies both ways with
 * backpressure, and keeps the hot path lean: the request head is built as one string and
 * encoded into a per-connection buffer for a single write, each connection reads into one
 * reused buffer, a body that arrived whole with its head is handed over as bytes (no stream),
 * and timeouts share one coarse timer instead of one timer a request.
 *
 * A request with `upgrade` (WebSocket) is sent with `Connection: upgrade`; a 101 answer hands
 * the connection to the caller, who joins it with the client's.
 *
 * A connection goes back to its pool only after the whole response was read and both sides
 * allow reuse. While idle it keeps a read pending, so an upstream closing it is noticed at
 * once; a request that still meets a closed connection (before any response byte, with no
 * body sent yet) is retried once on a fresh one.
 *
 * @example
 * ```ts
 * import { createH1Client } from "./client.ts";
 * const server = Deno.serve({ port: 0, onListen() {} }, () => new Response("hi"));
 * const client = createH1Client();
 * const res = await client({
 *   url: new URL(`http://127.0.0.1:${server.addr.port}/`),
 *   method: "GET",
 *   headers: new Headers({ host: "example.test" }),
 *   body: null,
 *   signal: new AbortController().signal,
 *   upstream: "application",
 *   timeoutMs: 5000,
 * });
 * console.log(res.status, await new Response(res.body as BodyInit).text()); // 200 "hi"
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { UpstreamError } from "../errors.ts";
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from "./upstream.ts";
import { BodyFramer, type Framing } from "./body_framer.ts";
import { directPipe, registerDirectPipe } from "./direct_pipe.ts";
import { FramedBody } from "./framed_body.ts";
import { BufferFull, ReadBuffer } from "./read_buffer.ts";
import {
  checkHeadBytes,
  CR,
  encodeHead,
  type Fields,
  findLF,
  FramingError,
  latin1,
  LF,
  parseDecimal,
  parseFields,
  SP,
  writeAll,
} from "./syntax.ts";

/** Pool and TLS settings for {@linkcode createH1Client}. */
export interface H1ClientOptions {
  /** Most idle connections kept per origin (default 128). */
  readonly maxIdlePerOrigin?: number;
  /** How long an idle connection is kept, in milliseconds (default 30 000). */
  readonly idleTimeoutMs?: number;
  /** Extra PEM certificates trusted for https upstreams (default: the system's roots). */
  readonly caCerts?: readonly string[];
}

/** An {@linkcode UpstreamClient} that can close its idle connections (shutdown, tests). */
export interface H1Client extends UpstreamClient {
  /** Closes idle connections now; busy ones close when their exchange ends. */
  close(): void;
}

/**
 * Creates a pooled HTTP/1.1 upstream client.
 *
 * @example
 * ```ts
 * import { createH1Client } from "./client.ts";
 * const client = createH1Client({ maxIdlePerOrigin: 32, idleTimeoutMs: 10_000 });
 * client.close();
 * ```
 */
export function createH1Client(options: H1ClientOptions = {}): H1Client {
  const state = new ClientState(options);
  const client = ((request: UpstreamRequest) => new Exchange(state, request).promise) as H1Client;
  client.close = () => state.close();
  return client;
}

/** Most header fields accepted in a response head. */
const MAX_RESPONSE_FIELDS = 1000;
/** Read buffer per connection; a response head (with any 1xx before it) must fit in it. */
const READ_BUFFER_BYTES = 64 * 1024;
const MAX_HEAD_BYTES = READ_BUFFER_BYTES;
/**
 * A connection's read buffer starts this small and doubles (up to READ_BUFFER_BYTES) when a
 * head needs room or a read fills all the space it was given (a fast body): a thousand open
 * SSE streams then hold 16 KiB each, a download still reads 32 KiB at a time.
 */
const INITIAL_READ_BUFFER_BYTES = 16 * 1024;
/** Per-connection buffer the request head (and small chunk frames) is encoded into. */
const WRITE_BUFFER_BYTES = 4 * 1024;
/** Granularity of response-head deadlines. */
const DEADLINE_TICK_MS = 50;

const encoder = new TextEncoder();
const asciiDecoder = new TextDecoder();
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const CRLF_LAST_CHUNK = encoder.encode("\r\n0\r\n\r\n");

/** Methods whose bodyless requests still announce `content-length: 0`, as node:http does. */
const EMPTY_BODY_LENGTH_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Error names that read well in "could not be reached (…)". */
const CONNECT_ERROR_NAME =
  /^(Connection\w*|TimedOut|AddrNotAvailable|NotConnected|NetworkUnreachable|HostUnreachable)$/;

/** The upstream broke HTTP/1.1; the message completes "the application at <origin> …". */
class Violation extends Error {}

/** Thrown by a request-body write to stop sending quietly (the exchange decides the rest). */
const STOP = new Error("stop sending the request body");

/** A connection failed before any response byte: worth one retry if it was a pooled one. */
class StaleConnection extends Error {}

/** Settings and shared machinery of one client. */
class ClientState {
  /** Pools by `host:port`, for http and https origins. */
  readonly pools = new Map<string, Pool>();
  readonly tlsPools = new Map<string, Pool>();
  readonly deadlines = new Deadlines();
  readonly maxIdle: number;
  readonly idleTimeoutMs: number;
  readonly caCerts: string[] | undefined;
  closed = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: H1ClientOptions) {
    this.maxIdle = options.maxIdlePerOrigin ?? 128;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.caCerts = options.caCerts ? [...options.caCerts] : undefined;
  }

  pool(url: URL): Pool {
    const host = url.host;
    const tls = url.protocol === "https:";
    const pools = tls ? this.tlsPools : this.pools;
    let pool = pools.get(host);
    if (pool === undefined) {
      pool = new Pool(this, url, tls);
      pools.set(host, pool);
    }
    return pool;
  }

  /** Makes sure idle connections are swept while any exist. */
  scheduleSweep(): void {
    if (this.#sweeper !== undefined || this.closed) return;
    const every = Math.max(100, Math.min(5000, this.idleTimeoutMs / 4));
    const timer = setInterval(() => {
      const cutoff = Date.now() - this.idleTimeoutMs;
      let idle = 0;
      for (const pool of this.pools.values()) idle += pool.sweep(cutoff);
      for (const pool of this.tlsPools.values()) idle += pool.sweep(cutoff);
      if (idle === 0) this.#stopSweeper();
    }, every);
    Deno.unrefTimer(timer);
    this.#sweeper = timer;
  }

  #stopSweeper(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  close(): void {
    this.closed = true;
    this.#stopSweeper();
    this.deadlines.stop();
    for (const pool of this.pools.values()) pool.sweep(Infinity);
    for (const pool of this.tlsPools.values()) pool.sweep(Infinity);
  }
}

/** Idle connections to one origin, most recently used last (LIFO). */
class Pool {
  readonly idle: Connection[] = [];
  readonly hostname: string;
  readonly port: number;

  constructor(readonly client: ClientState, url: URL, readonly tls: boolean) {
    this.hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  }

  acquire(): Connection | undefined {
    const idle = this.idle;
    while (idle.length > 0) {
      const c = idle.pop()!;
      c.idle = false;
      if (c.closed) continue;
      c.conn.ref();
      return c;
    }
    return undefined;
  }

  release(c: Connection): void {
    if (this.client.closed || this.idle.length >= this.client.maxIdle) {
      c.destroy();
      return;
    }
    c.idle = true;
    c.idleSince = Date.now();
    c.conn.unref();
    c.watch();
    this.idle.push(c);
    this.client.scheduleSweep();
  }

  /** Removes a connection that died while idle. */
  forget(c: Connection): void {
    const i = this.idle.indexOf(c);
    if (i !== -1) this.idle.splice(i, 1);
  }

  /** Closes connections idle since `cutoff` or before; returns how many stay idle. */
  sweep(cutoff: number): number {
    const idle = this.idle;
    let n = 0;
    while (n < idle.length && idle[n].idleSince <= cutoff) n++;
    if (n > 0) {
      for (const c of idle.splice(0, n)) {
        c.idle = false;
        c.destroy();
      }
    }
    return idle.length;
  }

  async connect(): Promise<Connection> {
    const tcp = await Deno.connect({ hostname: this.hostname, port: this.port });
    tcp.setNoDelay(true);
    if (!this.tls) return new Connection(tcp, this);
    const tls = await Deno.startTls(tcp, {
      hostname: this.hostname,
      caCerts: this.client.caCerts,
    });
    try {
      await tls.handshake();
    } catch (err) {
      tls.close();
      throw err;
    }
    return new Connection(tls, this);
  }
}

/** One upstream connection with its read buffer (`buf[start..end)` is read but unparsed). */
class Connection extends ReadBuffer {
  readonly wbuf = new Uint8Array(WRITE_BUFFER_BYTES);
  /** Bytes of a partial response head already scanned for its end. */
  scanned = 0;
  idle = false;
  idleSince = 0;
  closed = false;
  /** Why the connection was closed, when it was closed because of a failure. */
  error: unknown;

  constructor(conn: Deno.Conn, readonly pool: Pool) {
    super(conn, { initialBytes: INITIAL_READ_BUFFER_BYTES, maxBytes: READ_BUFFER_BYTES });
  }

  /** Reads more bytes into the buffer; resolves to how many, or null at the end of input. */
  override async fill(): Promise<number | null> {
    let n: number | null;
    try {
      n = await super.fill();
    } catch (err) {
      if (err instanceof BufferFull) throw new Violation("sent more than the read buffer holds");
      throw err;
    }
    if (this.closed) throw this.error ?? new Deno.errors.Interrupted("connection closed");
    return n;
  }

  writeAll(data: Uint8Array): Promise<void> {
    return writeAll(this.conn, data);
  }

  /** Keeps a read pending while idle: any answer (data or end) means the connection is done. */
  watch(): void {
    this.start = this.end = this.scanned = 0;
    this.readAhead().then(this.#onIdleRead, this.#onIdleRead);
  }

  readonly #onIdleRead = (): void => {
    if (this.idle) this.destroy();
  };

  /** Gives up the socket without closing it (after an upgrade); the buffer is left unused. */
  detach(): void {
    this.closed = true;
  }

  destroy(reason?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.error = reason;
    if (this.idle) {
      this.idle = false;
      this.pool.forget(this);
    }
    try {
      this.conn.close();
    } catch {
      // Already closed by the runtime.
    }
  }
}

/**
 * Response-head deadlines in coarse buckets, checked by one interval that runs only while
 * requests wait. Cheaper than a timer per request at tens of thousands of requests a second.
 */
class Deadlines {
  #buckets = new Map<number, Set<Exchange>>();
  #next = 0;
  #live = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  add(ex: Exchange, ms: number): void {
    const now = Date.now();
    const key = Math.ceil((now + ms) / DEADLINE_TICK_MS);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(key, bucket);
    }
    bucket.add(ex);
    ex.bucket = bucket;
    this.#live++;
    if (this.#timer === undefined) {
      this.#next = Math.floor(now / DEADLINE_TICK_MS);
      const timer = setInterval(this.#tick, DEADLINE_TICK_MS);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  remove(ex: Exchange): void {
    const bucket = ex.bucket;
    if (bucket === undefined) return;
    ex.bucket = undefined;
    bucket.delete(ex);
    this.#live--;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#buckets.clear();
    this.#live = 0;
  }

  readonly #tick = (): void => {
    if (this.#live === 0) return this.stop();
    const now = Math.floor(Date.now() / DEADLINE_TICK_MS);
    for (let key = this.#next; key <= now; key++) {
      const bucket = this.#buckets.get(key);
      if (bucket === undefined) continue;
      this.#buckets.delete(key);
      for (const ex of bucket) {
        ex.bucket = undefined;
        this.#live--;
        ex.timedOut();
      }
    }
    this.#next = now + 1;
  };
}

/** A parsed response head. */
interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly keepAlive: boolean;
}

/** One request/response exchange, from picking a connection to the end of the body. */
class Exchange implements EventListenerObject {
  readonly promise: Promise<UpstreamResponse>;
  bucket: Set<Exchange> | undefined;
  #resolve!: (res: UpstreamResponse) => void;
  #reject!: (err: unknown) => void;
  readonly #state: ClientState;
  readonly #request: UpstreamRequest;
  readonly #pool: Pool;
  #head = "";
  /** -2: no body; -1: chunked; otherwise the Content-Length. */
  #length = -2;
  #conn: Connection | undefined;
  #settled = false;
  #listening = false;
  #bodyStarted = false;
  #bodyReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #requestDone = false;
  #responseDone = false;
  #reusable = false;
  #source: BodySource | undefined;
  abortReason: unknown;

  constructor(state: ClientState, request: UpstreamRequest) {
    this.#state = state;
    this.#request = request;
    this.promise = new Promise<UpstreamResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const { signal } = request;
    this.#pool = state.pool(request.url);
    if (signal.aborted) {
      this.#settled = true;
      this.#reject(signal.reason ?? new DOMException("The request was aborted", "AbortError"));
      return;
    }
    try {
      this.#prepareHead();
    } catch (err) {
      this.#settled = true;
      this.#reject(err);
      return;
    }
    signal.addEventListener("abort", this);
    this.#listening = true;
    const ms = request.timeoutMs;
    if (ms > 0 && ms < Infinity) state.deadlines.add(this, ms);
    void this.#run();
  }

  /** Builds the request head text and picks the body framing. */
  #prepareHead(): void {
    const req = this.#request;
    const url = req.url;
    let head = req.method + " " + url.pathname + url.search + " HTTP/1.1\r\n";
    let host = false;
    let contentLength: string | undefined;
    req.headers.forEach((value, name) => {
      switch (name) {
        case "host":
          host = true;
          break;
        case "content-length":
          contentLength = value;
          return;
        // Framing and connection management are this client's business.
        case "connection":
        case "keep-alive":
        case "proxy-connection":
        case "transfer-encoding":
        case "upgrade":
          return;
      }
      head += name + ": " + value + "\r\n";
    });
    if (!host) head += "host: " + url.host + "\r\n";
    if (req.upgrade !== undefined) {
      if (req.body !== null) throw this.#protocol("asks for an upgrade but has a body", "request");
      head += "connection: upgrade\r\nupgrade: " + req.upgrade + "\r\n\r\n";
      this.#head = head;
      return;
    }
    if (contentLength !== undefined) {
      const n = parseDecimal(contentLength, 0, contentLength.length);
      if (n < 0) {
        throw this.#protocol(`has an invalid Content-Length: "${contentLength}"`, "request");
      }
      if (req.body === null && n !== 0) {
        throw this.#protocol(`has no body but a Content-Length of ${n}`, "request");
      }
      head += "content-length: " + n + "\r\n";
      this.#length = req.body === null ? -2 : n;
    } else if (req.body !== null) {
      head += "transfer-encoding: chunked\r\n";
      this.#length = -1;
    } else if (EMPTY_BODY_LENGTH_METHODS.has(req.method)) {
      head += "content-length: 0\r\n";
    }
    this.#head = head + "connection: keep-alive\r\n\r\n";
  }

  async #run(): Promise<void> {
    const pool = this.#pool;
    let fresh = false;
    for (;;) {
      let c = fresh ? undefined : pool.acquire();
      const reused = c !== undefined;
      if (c === undefined) {
        try {
          c = await pool.connect();
        } catch (err) {
          this.#fail(this.#unreachable(err));
          return;
        }
        if (this.#settled) {
          c.destroy();
          return;
        }
      }
      this.#conn = c;
      try {
        await this.#exchange(c);
        return;
      } catch (err) {
        c.destroy(err);
        if (this.#settled) return;
        if (err instanceof StaleConnection && reused && !this.#bodyStarted) {
          fresh = true;
          continue;
        }
        this.#fail(this.toUpstreamError(err));
        return;
      }
    }
  }

  /** Sends the request on `c` and reads the response head; resolves the promise. */
  async #exchange(c: Connection): Promise<void> {
    const req = this.#request;
    try {
      await c.writeAll(encodeHead(this.#head, c.wbuf));
    } catch (err) {
      throw new StaleConnection("write failed", { cause: err });
    }
    if (req.body === null) this.#requestDone = true;
    else void this.#writeBody(c, req.body);

    let received = false;
    let head: ResponseHead | undefined;
    for (;;) {
      head = c.end > c.start ? parseHead(c) : undefined;
      if (head === undefined) {
        if (c.end - c.start >= MAX_HEAD_BYTES) {
          throw new Violation(`sent a response head larger than ${MAX_HEAD_BYTES >> 10} KiB`);
        }
        let n: number | null;
        try {
          n = await c.fill();
        } catch (err) {
          if (!received) throw new StaleConnection("read failed", { cause: err });
          throw err;
        }
        if (n === null) {
          if (!received) throw new StaleConnection("closed");
          throw new Violation("closed the connection in the middle of the response head");
        }
        received = true;
        continue;
      }
      if (head.status >= 200) break;
      if (head.status === 101) {
        if (req.upgrade === undefined) {
          throw new Violation("switched protocols (101) without being asked to");
        }
        return this.#upgraded(c, head);
      }
      // Other 1xx (100 Continue, 103 Early Hints): interim, the real answer follows.
    }
    this.#state.deadlines.remove(this);

    const status = head.status;
    // RFC 9112 §6.3: no body for HEAD, 204, 304; then chunked, a length, or until close.
    let framing: Framing | undefined;
    if (req.method === "HEAD" || status === 204 || status === 304) framing = undefined;
    else if (head.chunked) framing = { kind: "chunked", strict: false };
    else if (head.contentLength > 0) framing = { kind: "length", length: head.contentLength };
    else if (head.contentLength < 0) framing = { kind: "close" };
    this.#reusable = head.keepAlive && framing?.kind !== "close" && req.upgrade === undefined;

    let body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null = null;
    if (framing !== undefined) {
      const source = new BodySource(this, c, framing);
      // A body already read with the head (small responses) needs no more of the connection.
      const first = source.takeCopy();
      if (source.done) {
        body = first ?? new Uint8Array(0);
      } else {
        source.first = first;
        this.#source = source;
        // No read-ahead: nothing is taken off the connection until the consumer asks, which
        // lets a server use the direct pipe instead (the stream stays unread then).
        const stream = new ReadableStream(source, { highWaterMark: 0 });
        registerDirectPipe(stream, (write) => source.pipe(write));
        body = stream;
      }
    }
    if (body === null || this.#source === undefined) this.responseEnded();
    this.#settled = true;
    this.#resolve({ status, statusText: head.statusText, headers: head.headers, body });
  }

  /** Hands the connection over after a 101: it leaves the pool and this exchange for good. */
  #upgraded(c: Connection, head: ResponseHead): void {
    this.#state.deadlines.remove(this);
    this.#unlisten();
    this.#responseDone = this.#requestDone = true;
    const leftover = c.buf.slice(c.start, c.end);
    c.detach();
    this.#settled = true;
    this.#resolve({
      status: 101,
      statusText: head.statusText,
      headers: head.headers,
      body: null,
      upgraded: { conn: c.conn, leftover },
    });
  }

  /** Streams the request body to `c`: framed by its Content-Length or chunked. */
  async #writeBody(c: Connection, body: ReadableStream<Uint8Array>): Promise<void> {
    const length = this.#length;
    // A body from orygate's server comes straight from its buffer (direct_pipe.ts).
    const pipe = directPipe(body);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    if (pipe === undefined) {
      try {
        reader = body.getReader();
      } catch (err) {
        return this.#requestFailed(c, err);
      }
      this.#bodyReader = reader;
    }
    this.#bodyStarted = true;
    let sent = 0;
    let upstreamStopped = false;
    const send = async (data: Uint8Array): Promise<void> => {
      if (c.closed || this.#responseDone) throw STOP;
      const size = data.byteLength;
      if (size === 0) return;
      if (length >= 0 && sent + size > length) {
        throw this.#protocol(`body is longer than its Content-Length (${length} bytes)`, "request");
      }
      try {
        if (length >= 0) await c.writeAll(data);
        else await writeChunk(c, data, sent === 0);
      } catch {
        // The upstream stopped reading (it may have answered early, e.g. 413): stop sending
        // and let the response side decide; the connection will not be reused.
        upstreamStopped = true;
        throw STOP;
      }
      sent += size;
      // All bytes sent: the upstream may answer before the client's stream says "done".
      if (sent === length) this.#requestEnded();
    };
    try {
      if (reader === undefined) await pipe!(send);
      else {
        for (;;) {
          const chunk = await reader.read();
          if (c.closed || this.#responseDone) return;
          if (chunk.done) break;
          await send(chunk.value);
        }
      }
    } catch (err) {
      if (err !== STOP) return this.#requestFailed(c, err);
      if (upstreamStopped && !c.closed) reader?.cancel().catch(() => {});
      return;
    }
    if (length >= 0) {
      if (sent < length) {
        return this.#requestFailed(
          c,
          this.#protocol(
            `body is shorter than its Content-Length (${sent} of ${length} bytes)`,
            "request",
          ),
        );
      }
      if (length === 0) this.#requestEnded();
      return;
    }
    try {
      await c.writeAll(sent === 0 ? LAST_CHUNK : CRLF_LAST_CHUNK);
    } catch {
      return;
    }
    this.#requestEnded();
  }

  #requestEnded(): void {
    this.#requestDone = true;
    this.#bodyReader = undefined;
  }

  /** The request body could not be sent whole: the upstream must not take it as complete. */
  #requestFailed(c: Connection, err: unknown): void {
    const error = err instanceof UpstreamError
      ? err
      : this.#protocol(`body broke off (${describe(err)})`, "request", err);
    this.#bodyReader?.cancel(error).catch(() => {});
    this.#bodyReader = undefined;
    if (this.#responseDone && this.#requestDone) return; // the connection is no longer ours
    c.destroy(error);
    if (!this.#settled) this.#fail(error);
    else this.#source?.abort(error);
  }

  /** Called once the response body was read whole (or there was none). */
  responseEnded(): void {
    if (this.#responseDone) return;
    this.#responseDone = true;
    this.#unlisten();
    const c = this.#conn!;
    if (!this.#requestDone) {
      // The upstream answered before taking the whole body: this connection is done.
      this.#bodyReader?.cancel().catch(() => {});
      this.#bodyReader = undefined;
      c.destroy();
      return;
    }
    this.#finish(c);
  }

  #finish(c: Connection): void {
    if (this.#reusable && c.start === c.end && !c.closed) this.#pool.release(c);
    else c.destroy();
  }

  /** The consumer cancelled the body, or it failed: the connection cannot be reused. */
  responseAborted(reason?: unknown): void {
    this.#responseDone = true;
    this.#requestDone = true;
    this.#unlisten();
    this.#bodyReader?.cancel(reason).catch(() => {});
    this.#bodyReader = undefined;
    this.#conn?.destroy(reason);
  }

  /** The request's signal fired: the client went away. */
  handleEvent(): void {
    const reason = this.#request.signal.reason ??
      new DOMException("The request was aborted", "AbortError");
    this.abortReason = reason;
    if (!this.#settled) {
      this.#fail(reason);
      return;
    }
    this.#source?.abort(reason);
  }

  timedOut(): void {
    if (this.#settled) return;
    const req = this.#request;
    this.#fail(
      new UpstreamError(
        "ERR_UPSTREAM_TIMEOUT",
        req.upstream,
        `the ${req.upstream} at ${req.url.origin} did not answer within ${req.timeoutMs / 1000}s`,
      ),
    );
  }

  #fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#state.deadlines.remove(this);
    this.#unlisten();
    this.#responseDone = this.#requestDone = true;
    this.#bodyReader?.cancel(err).catch(() => {});
    this.#bodyReader = undefined;
    this.#conn?.destroy(err);
    this.#reject(err);
  }

  #unlisten(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#request.signal.removeEventListener("abort", this);
  }

  /** Maps an internal failure to the error the caller sees. */
  toUpstreamError(err: unknown): unknown {
    if (err instanceof UpstreamError || err === this.abortReason) return err;
    if (err instanceof Violation) return this.#protocol(err.message, "response", err);
    if (err instanceof StaleConnection) {
      const cause = err.cause === undefined ? "" : ` (${describe(err.cause)})`;
      return this.#protocol(`closed the connection without answering${cause}`, "response", err);
    }
    return this.#protocol(`failed mid-response (${describe(err)})`, "response", err);
  }

  #protocol(detail: string, side: "request" | "response", cause?: unknown): UpstreamError {
    const { upstream, url } = this.#request;
    const subject = side === "request"
      ? `the request for the ${upstream} at ${url.origin}`
      : `the ${upstream} at ${url.origin}`;
    return new UpstreamError(
      "ERR_UPSTREAM_PROTOCOL",
      upstream,
      `${subject} ${detail}`,
      cause === undefined ? undefined : { cause },
    );
  }

  #unreachable(err: unknown): UpstreamError {
    const { upstream, url } = this.#request;
    return new UpstreamError(
      "ERR_UPSTREAM_UNREACHABLE",
      upstream,
      `the ${upstream} at ${url.origin} could not be reached (${describe(err)})`,
      { cause: err },
    );
  }
}

/** A response body off its connection: a stream, or the direct pipe. */
class BodySource extends FramedBody {
  constructor(readonly exchange: Exchange, readonly c: Connection, framing: Framing) {
    super(c, new BodyFramer(framing));
  }

  protected fill(): Promise<number | null> {
    return this.c.fill();
  }

  protected ended(): void {
    this.exchange.responseEnded();
  }

  protected failure(err: unknown): unknown {
    if (err instanceof FramingError) err = new Violation(`sent ${err.message}`);
    return this.c.error ?? this.exchange.abortReason ?? this.exchange.toUpstreamError(err);
  }

  protected brokeOff(): Error {
    return new Violation("closed the response before its end");
  }

  protected override cancelled(reason: unknown): void {
    this.exchange.responseAborted(reason);
  }

  protected override aborted(reason: unknown): void {
    this.exchange.responseAborted(reason);
  }
}

/** Writes one chunk; a small one with its frame in a single write. */
async function writeChunk(c: Connection, data: Uint8Array, first: boolean): Promise<void> {
  const w = c.wbuf;
  let i = 0;
  if (!first) {
    w[i++] = CR;
    w[i++] = LF;
  }
  const hex = data.byteLength.toString(16);
  for (let k = 0; k < hex.length; k++) w[i++] = hex.charCodeAt(k);
  w[i++] = CR;
  w[i++] = LF;
  if (data.byteLength <= w.length - i) {
    w.set(data, i);
    await c.writeAll(w.subarray(0, i + data.byteLength));
  } else {
    await c.writeAll(w.subarray(0, i));
    await c.writeAll(data);
  }
}

/**
 * Parses a response head from the connection's buffer, consuming it. Returns undefined when
 * the head is not complete yet; throws a {@linkcode Violation} when it is malformed.
 */
function parseHead(c: Connection): ResponseHead | undefined {
  const buf = c.buf;
  const end = c.end;
  let start = c.start;
  // Tolerate stray empty lines before a status line.
  while (start < end && (buf[start] === CR || buf[start] === LF)) {
    if (buf[start] === CR && start + 1 < end && buf[start + 1] !== LF) break;
    start++;
  }
  c.start = start;
  let line = start + c.scanned;
  let headEnd: number;
  for (;;) {
    const lf = findLF(buf, line, end);
    if (lf === -1) {
      c.scanned = line - start;
      return undefined;
    }
    if (lf === line || (lf === line + 1 && buf[line] === CR)) {
      headEnd = lf + 1;
      break;
    }
    line = lf + 1;
  }
  c.scanned = 0;
  c.start = headEnd;

  let ascii: boolean;
  try {
    ascii = checkHeadBytes(buf, start, headEnd);
  } catch (err) {
    throw new Violation(`sent ${(err as Error).message.replace("its head", "its response head")}`);
  }
  const text = ascii
    ? asciiDecoder.decode(buf.subarray(start, headEnd))
    : latin1(buf, start, headEnd);

  // Status line: HTTP/1.x SP 3DIGIT [SP reason]
  const lf = text.indexOf("\n");
  const eol = lf > 0 && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
  const minor = text.charCodeAt(7) - 48;
  const status = (text.charCodeAt(9) - 48) * 100 + (text.charCodeAt(10) - 48) * 10 +
    (text.charCodeAt(11) - 48);
  if (
    eol < 12 || !text.startsWith("HTTP/1.") || (minor !== 0 && minor !== 1) ||
    text.charCodeAt(8) !== SP || !isDigit(text, 9) || !isDigit(text, 10) || !isDigit(text, 11) ||
    (eol > 12 && text.charCodeAt(12) !== SP) || status < 100 || status > 599
  ) {
    throw new Violation(`sent an invalid status line: "${text.slice(0, Math.min(eol, 64))}"`);
  }
  const statusText = eol > 13 ? text.slice(13, eol) : "";

  let fields: Fields;
  try {
    fields = parseFields(text, lf + 1, MAX_RESPONSE_FIELDS);
  } catch (err) {
    if (err instanceof FramingError) throw new Violation(`sent ${err.message}`);
    throw err;
  }
  const { headers, contentLength, chunked } = fields;
  return {
    status,
    statusText,
    headers,
    contentLength,
    chunked,
    keepAlive: !fields.close && (minor === 1 || fields.keepAlive),
  };
}

function isDigit(s: string, i: number): boolean {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9;
}

/** A short reason for an error message: a network error's name, else its message. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    if (CONNECT_ERROR_NAME.test(err.name) || err.name === "BrokenPipe") return err.name;
    return err.message;
  }
  return String(err);
}
