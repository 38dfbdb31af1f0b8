/**
 * The HTTP/1.1 client's connections: a keep-alive pool per origin, each connection with its
 * read buffer (`read_buffer.ts`) and a small write buffer, and response-head deadlines in
 * coarse buckets. Exchanges (`exchange.ts`) take connections from here and give them back.
 *
 * @module
 */
import type { H1ClientOptions } from "./client.ts";
import type { Exchange } from "./exchange.ts";
import { BufferFull, ReadBuffer } from "./read_buffer.ts";
import { Violation } from "./response_head.ts";
import { writeAll } from "./syntax.ts";

/** Read buffer per connection; a response head (with any 1xx before it) must fit in it. */
export const READ_BUFFER_BYTES = 64 * 1024;
/**
 * A connection's read buffer starts this small and doubles (up to READ_BUFFER_BYTES) when a
 * head needs room or a read fills all the space it was given (a fast body), so a download
 * still reads 32 KiB at a time. It was 16 KiB: a thousand SSE streams on fresh connections
 * then left 16 MiB of freed buffers in the allocator; then 4 KiB (nginx's `proxy_buffer_size`,
 * one page), shrunk to SMALL_READ_BUFFER_BYTES after the first events: the freed 4 KiB
 * arrays still left 3 MiB of holes in malloc's heap with 1000 streams. A head over 2 KiB
 * grows it once per pooled connection.
 */
const INITIAL_READ_BUFFER_BYTES = 2 * 1024;
/** After a run of small body reads (an event stream), an empty buffer shrinks to this. */
const SMALL_READ_BUFFER_BYTES = 2 * 1024;
/** Granularity of response-head deadlines. */
const DEADLINE_TICK_MS = 50;

/** Settings and shared machinery of one client. */
export class ClientState {
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
export class Pool {
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
export class Connection extends ReadBuffer {
  /** Bytes of a partial response head already scanned for its end. */
  scanned = 0;
  idle = false;
  idleSince = 0;
  closed = false;
  /** Why the connection was closed, when it was closed because of a failure. */
  error: unknown;

  constructor(conn: Deno.Conn, readonly pool: Pool) {
    super(conn, {
      initialBytes: INITIAL_READ_BUFFER_BYTES,
      maxBytes: READ_BUFFER_BYTES,
      smallBytes: SMALL_READ_BUFFER_BYTES,
    });
  }

  // The client's rules for a read, as hooks that run inside ReadBuffer's read rather than an
  // async fill() wrapped around it: such a frame stayed suspended for every pending read (one
  // per event of an SSE stream), ~0.5 KiB each.
  /** A response that outgrows the buffer is the upstream's fault. */
  override makeRoom(limit?: number): void {
    try {
      super.makeRoom(limit);
    } catch (err) {
      if (err instanceof BufferFull) throw new Violation("sent more than the read buffer holds");
      throw err;
    }
  }

  /** A read that lands on a connection closed meanwhile fails with the reason it closed. */
  protected override landed(): void {
    if (this.closed) throw this.error ?? new Deno.errors.Interrupted("connection closed");
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
export class Deadlines {
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
