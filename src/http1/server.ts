/**
 * orygate's HTTP/1.1 server, over `Deno.listen` (or `Deno.listenTls`).
 *
 * Why not `Deno.serve`: it has no header timeout, so a client sending its head a byte at a
 * time (slowloris) holds a connection forever; and a proxy built on it paid for a web
 * `Request` and `Response` per request, which cost more than the proxying itself (see
 * docs/performance.md). This server parses heads into plain {@linkcode ProxyRequest}s,
 * writes {@linkcode ProxyResult}s with their head and a small body in one write, and:
 *
 * - cuts off a client whose request head is not complete within `headerTimeoutMs` (counted
 *   from its first byte, or from the connection's start), and idle keep-alive connections,
 *   clients that stop sending a request body or stop reading a streamed response after
 *   `idleTimeoutMs`, with one coarse sweep instead of a timer per request;
 * - frames strictly (RFC 9112): both Content-Length and Transfer-Encoding, conflicting
 *   lengths, unknown codings, obs-fold, bad chunks, control bytes → 400 and the connection
 *   closes; a head over {@linkcode MAX_HEAD_BYTES} → 431;
 * - streams request bodies with backpressure (answering `Expect: 100-continue` when the body
 *   is first wanted) and response bodies with their Content-Length or chunked;
 * - notices a client that goes away mid-request (a read stays pending) and aborts the
 *   request's signal;
 * - joins upgraded (WebSocket) connections with the upstream's, byte for byte.
 *
 * @example
 * ```ts
 * import { serveH1 } from "./server.ts";
 * const server = serveH1({ hostname: "127.0.0.1", port: 0 }, (req) =>
 *   Promise.resolve({
 *     status: 200,
 *     statusText: "OK",
 *     headers: new Headers({ "content-type": "text/plain" }),
 *     body: new TextEncoder().encode(`hello ${new URL(req.url).pathname}`),
 *   }));
 * const res = await fetch(`http://127.0.0.1:${server.addr.port}/there`);
 * console.log(await res.text()); // "hello /there"
 * await server.shutdown();
 * ```
 *
 * @module
 */
import type { ClientInfo, ProxyRequest, ProxyResult } from "./message.ts";
import { Connection } from "./server_connection.ts";

/** Where and how to serve. */
export interface H1ServerOptions {
  readonly hostname: string;
  readonly port: number;
  /** PEM certificate chain and key: serves HTTPS (HTTP/1.1). */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** A listener to serve instead of one opened here (`tls` still says the scheme). */
  readonly listener?: Deno.Listener;
  /** Time allowed for a request head to arrive whole (default 10 s). */
  readonly headerTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept (default 60 s). */
  readonly idleTimeoutMs?: number;
  /**
   * How long a joined (WebSocket) tunnel may carry no bytes either way before both sides are
   * closed (default 5 minutes, as Envoy's stream idle timeout; 0: never).
   */
  readonly tunnelIdleTimeoutMs?: number;
  /** Called with handler failures and unexpected errors (the client got a 500 or a reset). */
  readonly onError?: (error: unknown) => void;
  /** Told when client connections and joined (upgraded) tunnels open and close. */
  readonly hooks?: ServerHooks;
}

/**
 * What the server tells its owner about connections, e.g. for gauges of open connections and
 * WebSocket tunnels (each "opened" is followed by exactly one "closed"), and about response
 * bodies that failed while being written (the error the body's stream raised, or the write's).
 */
export interface ServerHooks {
  connectionOpened(): void;
  connectionClosed(): void;
  tunnelOpened(): void;
  tunnelClosed(): void;
  responseFailed?(error: unknown): void;
}

/** A running server. */
export interface H1Server {
  readonly addr: Deno.NetAddr;
  /** Resolves once the server stopped and every connection has closed. */
  readonly finished: Promise<void>;
  /** Open client connections, for tests and diagnostics. */
  readonly connections: number;
  /** Stops accepting, closes idle connections, lets requests in flight finish. */
  shutdown(): Promise<void>;
}

/** The handler the server calls: the engine (`createProxyEngine`) or anything like it. */
export type H1Handler = (req: ProxyRequest, info: ClientInfo) => Promise<ProxyResult>;

/** Starts serving; throws what `Deno.listen` throws (address in use, permission denied). */
export function serveH1(options: H1ServerOptions, handler: H1Handler): H1Server {
  const listener: Deno.Listener = options.listener ?? (options.tls
    ? Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      cert: options.tls.cert,
      key: options.tls.key,
    })
    : Deno.listen({ hostname: options.hostname, port: options.port }));
  const server = new Server(listener, options, handler);
  void server.accept();
  return {
    addr: listener.addr as Deno.NetAddr,
    finished: server.finished,
    get connections() {
      return server.open.size;
    },
    shutdown: () => server.shutdown(),
  };
}

/** How often deadlines are checked. */
const SWEEP_MS = 250;

/** The listener, its connections and the one deadline sweep. */
export class Server {
  readonly open = new Set<Connection>();
  readonly finished: Promise<void>;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly tunnelIdleTimeoutMs: number;
  closing = false;
  /** `Date` header value, refreshed by the sweep. */
  date = new Date().toUTCString();
  #resolveFinished!: () => void;
  #sweeper: ReturnType<typeof setInterval>;

  constructor(
    readonly listener: Deno.Listener,
    readonly options: H1ServerOptions,
    readonly handler: H1Handler,
  ) {
    this.headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.tunnelIdleTimeoutMs = options.tunnelIdleTimeoutMs ?? 300_000;
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
  }

  async accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.listener.accept();
      } catch (err) {
        if (this.closing || err instanceof Deno.errors.BadResource) break;
        // Out of file descriptors and the like: back off instead of spinning.
        this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (this.closing) {
        conn.close();
        break;
      }
      const c = new Connection(this, conn);
      this.open.add(c);
      this.options.hooks?.connectionOpened();
      void c.serve().finally(() => {
        this.options.hooks?.connectionClosed();
        this.open.delete(c);
        if (this.closing && this.open.size === 0) this.#done();
      });
    }
  }

  #sweep(): void {
    const now = Date.now();
    this.date = new Date(now).toUTCString();
    for (const c of this.open) {
      if (
        (c.deadline !== 0 && c.deadline <= now) ||
        (c.writeDeadline !== 0 && c.writeDeadline <= now)
      ) c.timedOut();
    }
  }

  shutdown(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      try {
        this.listener.close();
      } catch {
        // already closed
      }
      for (const c of this.open) c.closeIfIdle();
      if (this.open.size === 0) this.#done();
    }
    return this.finished;
  }

  #done(): void {
    clearInterval(this.#sweeper);
    this.#resolveFinished();
  }
}
