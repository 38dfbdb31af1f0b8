/**
 * One client connection of the HTTP/1.1 server: it reads request heads under deadlines,
 * hands plain requests to the handler, writes the answers (small ones in one write, the rest
 * streamed with their length or chunked), keeps the connection alive or closes it (lingering
 * after an early answer), and hands upgraded connections to `tunnel.ts`.
 *
 * @module
 */
import { directPipe } from "./direct_pipe.ts";
import { joinTunnel } from "./tunnel.ts";
import type { ClientInfo, ProxyRequest, ProxyResult } from "./message.ts";
import { BufferFull, ReadBuffer } from "./read_buffer.ts";
import { RequestBody } from "./request_body.ts";
import {
  ABSOLUTE_FORM,
  BadRequest,
  findHeadEnd,
  type Head,
  HOST,
  MAX_HEAD_BYTES,
  parseRequestHead,
} from "./request_head.ts";
import type { Server } from "./server.ts";
import { REASONS } from "./status_reasons.ts";
import { CR, encodeHead, FramingError, LF, writeAll } from "./syntax.ts";

/**
 * First read buffer per connection; it grows up to {@linkcode MAX_HEAD_BYTES} for big heads.
 * Small, as nginx's 1 KiB `client_header_buffer_size`: while a response streams, a read stays
 * pending into it (to notice the client leaving), and a thousand SSE clients held 8 KiB each.
 */
const INITIAL_BUFFER_BYTES = 2 * 1024;
/** Largest the buffer grows to for a fast request body. */
const MAX_BODY_BUFFER_BYTES = 64 * 1024;
/** Response bodies up to this size go out in the same write as the head. */
const COALESCE_BYTES = 16 * 1024;
/** A streamed response's buffer for a small chunk and its frame: its first size, and largest. */
const MIN_FRAME_BUFFER_BYTES = 256;
const MAX_FRAME_BUFFER_BYTES = 4 * 1024;
/** A connection's buffer for response heads and small bodies written with them. */
const WRITE_BUFFER_BYTES = 4 * 1024;
/**
 * After answering a request whose body was not read (a 401 before an upload), the connection
 * is half-closed and the rest of the body read and dropped for up to this long (RFC 9112
 * §9.6): closing at once with unread bytes makes the kernel send a reset, and a client still
 * sending (Python's http.client sends the whole body before it reads) fails with a broken pipe
 * and never reads the answer. nginx lingers up to 30 s (`lingering_time`); 5 s drains a few
 * hundred MiB on a LAN and bounds what a client can hold.
 */
const LINGER_MS = 5_000;

const encoder = new TextEncoder();
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const RESOLVED = Promise.resolve();
const NOTHING: Uint8Array = new Uint8Array(0);

/** One client connection and its read buffer (`buf[start..end)` is read but unparsed). */
export class Connection extends ReadBuffer {
  /** When the current read (head or body) times out (0: none). */
  deadline = 0;
  /** When the current response write times out (0: none); separate, as both can be under way. */
  writeDeadline = 0;
  closed = false;
  /** Waiting for a new request with nothing of it read yet. */
  idle = true;
  /** The last Host header found valid on this connection (clients repeat it). */
  #validHost: string | undefined;
  /** Reused for small responses (see #encode); allocated with the first one. */
  #wbuf: Uint8Array | undefined;
  /** The request in flight's abort controller. */
  #abort: AbortController | undefined;
  /** Body bytes of the response being written, and what cut it short (for `onFinished`). */
  #bytesOut = 0;
  #writeError: unknown = undefined;
  readonly info: ClientInfo;
  readonly scheme: string;

  constructor(readonly server: Server, conn: Deno.Conn) {
    super(conn, { initialBytes: INITIAL_BUFFER_BYTES, maxBytes: MAX_BODY_BUFFER_BYTES });
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.info = { remoteAddr: { hostname: addr.hostname }, joinsUpgrades: true };
    this.scheme = server.options.tls ? "https://" : "http://";
  }

  timedOut(): void {
    this.close();
  }

  closeIfIdle(): void {
    if (this.idle) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deadline = 0;
    this.#abort?.abort(new DOMException("The client connection closed", "AbortError"));
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  async serve(): Promise<void> {
    try {
      while (!this.closed) {
        const keepAlive = await this.#next();
        if (!keepAlive || this.server.closing) break;
      }
    } catch (err) {
      if (!this.closed && !isDisconnect(err)) this.server.options.onError?.(err);
    } finally {
      this.close();
    }
  }

  /** Handles one request; resolves to whether the connection stays open. */
  async #next(): Promise<boolean> {
    let head: Head;
    try {
      const parsed = await this.#readHead();
      if (parsed === undefined) return false;
      head = parsed;
    } catch (err) {
      if (err instanceof BadRequest || err instanceof FramingError || err instanceof TypeError) {
        // TypeError: a header value `Headers` refuses.
        const status = err instanceof BadRequest ? err.status : 400;
        await this.#refuse(
          status,
          err instanceof FramingError ? `the request has ${err.message}` : err.message,
        );
        return false;
      }
      throw err;
    }

    const abort = new AbortController();
    this.#abort = abort;
    const body = head.chunked || head.contentLength > 0 ? new RequestBody(this, head) : undefined;
    let url: string;
    try {
      url = this.#requestUrl(head);
    } catch (err) {
      await this.#refuse(400, (err as Error).message);
      return false;
    }
    const req: ProxyRequest = {
      method: head.method,
      url,
      headers: head.headers,
      body: body?.stream ?? null,
      signal: abort.signal,
    };
    // Without a body to read, keep a read pending: a client that leaves is noticed at once.
    if (body === undefined) this.watch();

    let result: ProxyResult;
    try {
      result = await this.server.handler(req, this.info);
    } catch (err) {
      this.server.options.onError?.(err);
      result = {
        status: 500,
        statusText: "",
        headers: new Headers({ "content-type": "text/plain; charset=utf-8" }),
        body: encoder.encode("orygate: internal error\n"),
      };
    }
    if (this.closed) {
      await cancelBody(result.body);
      result.upgraded?.conn.close();
      result.onFinished?.(0, new DOMException("The client connection closed", "AbortError"));
      return false;
    }
    if (result.upgraded !== undefined) {
      result.onFinished?.(0);
      await joinTunnel(this, result, result.upgraded);
      return false;
    }
    // A request body the handler left unread cannot be skipped safely: close afterwards.
    const bodyDone = body === undefined || body.done;
    const keepAlive = !head.close && bodyDone && !this.server.closing;
    // Returned, not awaited: this frame holds the request's head (its headers, the client's
    // cookies), and an answer can stream for hours.
    return this.#answer(head.method, head.http10, result, keepAlive, bodyDone);
  }

  /** Writes the answer, reports it finished; resolves to whether the connection stays open. */
  async #answer(
    method: string,
    http10: boolean,
    result: ProxyResult,
    keepAlive: boolean,
    bodyDone: boolean,
  ): Promise<boolean> {
    this.#bytesOut = 0;
    this.#writeError = undefined;
    const ok = await this.#write(method, http10, result, keepAlive);
    result.onFinished?.(this.#bytesOut, this.#writeError);
    this.#abort = undefined;
    // A failed write has closed the connection already.
    if (!bodyDone && !this.closed) await this.#linger();
    return ok && keepAlive;
  }

  /**
   * Half-closes after an answer that left the request body unread, then reads and drops what
   * the client still sends, within {@linkcode LINGER_MS}, so the client reads the answer
   * instead of a reset.
   */
  async #linger(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch {
      return; // gone already
    }
    this.deadline = Date.now() + LINGER_MS;
    try {
      const pending = this.pending;
      this.pending = undefined;
      if (pending !== undefined && await pending === null) return;
      const sink = new Uint8Array(MAX_BODY_BUFFER_BYTES);
      while (!this.closed && await this.conn.read(sink) !== null) {
        // dropped
      }
    } catch {
      // reset or closed by the sweep: done either way
    } finally {
      this.deadline = 0;
    }
  }

  /**
   * Reads request-body bytes into the buffer (no extra copy); null at the end of input. The
   * buffer grows to 64 KiB for a fast upload; a chunk-size or trailer line filling all of it
   * is a framing error.
   */
  async fillBody(): Promise<number | null> {
    try {
      return await this.fill();
    } catch (err) {
      if (err instanceof BufferFull) {
        throw new FramingError("a chunk-size or trailer line longer than 64 KiB");
      }
      throw err;
    }
  }

  /** Keeps a read pending (see {@linkcode #next}); its bytes stay for the next request. */
  watch(): void {
    if (this.pending !== undefined || this.closed) return;
    let read: Promise<number | null>;
    try {
      read = this.readAhead();
    } catch {
      return; // a full buffer: the next head read refuses it
    }
    read.then(this.#watched, this.#watchFailed);
  }

  // Made once per connection, not per request (a watch is kept for every bodyless request).
  readonly #watched = (n: number | null): void => {
    if (n === null) this.#abort?.abort(new DOMException("The client went away", "AbortError"));
  };
  readonly #watchFailed = (err: unknown): void => this.#abort?.abort(err);

  /** Reads and parses the next request head; undefined when the client closed cleanly. */
  async #readHead(): Promise<Head | undefined> {
    const server = this.server;
    this.idle = this.start === this.end;
    this.deadline = Date.now() + (this.idle ? server.idleTimeoutMs : server.headerTimeoutMs);
    let scanned = 0;
    try {
      for (;;) {
        // Tolerate empty lines before a request line (RFC 9112 §2.2).
        while (
          this.start < this.end && (this.buf[this.start] === LF || this.buf[this.start] === CR)
        ) {
          if (
            this.buf[this.start] === CR && this.start + 1 < this.end &&
            this.buf[this.start + 1] !== LF
          ) {
            break;
          }
          this.start++;
        }
        if (this.start < this.end) {
          const headEnd = findHeadEnd(this.buf, this.start + scanned, this.end);
          if (headEnd !== -1) {
            const head = parseRequestHead(this.buf, this.start, headEnd);
            this.start = headEnd;
            return head;
          }
          scanned = Math.max(0, this.end - this.start - 3);
          if (this.end - this.start >= MAX_HEAD_BYTES) {
            throw new BadRequest(431, "the request head is too large");
          }
        }
        const before = this.start;
        let n: number | null;
        try {
          n = await this.fill(MAX_HEAD_BYTES);
        } catch (err) {
          if (err instanceof BufferFull) throw new BadRequest(431, "the request head is too large");
          throw err;
        }
        if (this.closed) return undefined;
        if (n === null) {
          if (this.start === this.end) return undefined;
          throw new BadRequest(400, "the request head ended early");
        }
        if (this.idle) {
          // The first byte of a new request: from now on it has the head timeout.
          this.idle = false;
          this.deadline = Date.now() + server.headerTimeoutMs;
        }
        if (this.start !== before) scanned = 0; // the buffer moved
      }
    } catch (err) {
      if (this.closed && !(err instanceof BadRequest)) return undefined;
      throw err;
    } finally {
      this.deadline = 0;
      this.idle = false;
    }
  }

  /** Answers a request that cannot be handled, then the connection closes. */
  async #refuse(status: number, message: string): Promise<void> {
    if (this.closed) return;
    const text = `orygate: ${message}\n`;
    const head = `HTTP/1.1 ${status} ${REASONS[status] ?? ""}\r\ncontent-type: text/plain; ` +
      `charset=utf-8\r\ncontent-length: ${text.length}\r\nconnection: close\r\n` +
      `date: ${this.server.date}\r\n\r\n${text}`;
    // Latin-1, as the Content-Length above counts chars (a refused header value may be quoted).
    await this.#writeAll(encodeHead(head)).catch(() => {});
  }

  #writeAll(data: Uint8Array): Promise<void> {
    return writeAll(this.conn, data);
  }

  /** Writes a result; resolves to false when the connection cannot carry another response. */
  async #write(
    method: string,
    http10: boolean,
    result: ProxyResult,
    keepAlive: boolean,
  ): Promise<boolean> {
    const status = result.status;
    const noBody = method === "HEAD" || status === 204 || status === 304 || status < 200;
    let text = `HTTP/1.1 ${status} ${result.statusText || REASONS[status] || ""}\r\n`;
    let declared = -1;
    let hasDate = false;
    result.headers.forEach((value, name) => {
      switch (name) {
        case "content-length":
          declared = /^\d{1,15}$/.test(value) ? Number(value) : -1;
          if (method === "HEAD" || status === 304) text += "content-length: " + value + "\r\n";
          return;
        case "transfer-encoding":
        case "connection":
        case "keep-alive":
          return;
        case "date":
          hasDate = true;
      }
      text += name + ": " + value + "\r\n";
    });
    if (!hasDate) text += "date: " + this.server.date + "\r\n";
    const body = noBody ? null : result.body;
    if (body instanceof ReadableStream && http10 && declared < 0) {
      keepAlive = false; // HTTP/1.0 has no chunked coding: the body ends with the connection
    }
    if (!keepAlive) text += "connection: close\r\n";
    else if (http10) text += "connection: keep-alive\r\n";

    if (noBody) {
      await cancelBody(result.body);
      return await this.#send(this.#encode(text + "\r\n"), keepAlive);
    }
    if (body === null || body instanceof Uint8Array) {
      const size = body?.byteLength ?? 0;
      this.#bytesOut = size;
      text += "content-length: " + size + "\r\n\r\n";
      if (body === null || size === 0) return await this.#send(this.#encode(text), keepAlive);
      if (size <= COALESCE_BYTES) return await this.#send(this.#encode(text, body), keepAlive);
      if (!await this.#send(encodeHead(text), true)) return false;
      return await this.#send(body, keepAlive);
    }
    const chunked = declared < 0 && !http10;
    text += declared >= 0 ? "content-length: " + declared + "\r\n" : "";
    text += chunked ? "transfer-encoding: chunked\r\n\r\n" : "\r\n";
    // Not awaited: a streamed response can last hours, and this frame need not wait with it.
    return this.#pump(encodeHead(text), body, chunked, declared, keepAlive);
  }

  /**
   * The absolute URL for a head: an origin-form target on the Host, or an absolute-form
   * target. The engine must never see a URL that does not parse. For origin-form that hangs
   * on the Host alone — the host must be a host ("a b", "x/y", "@" are not) and parse (no IPv4
   * octet over 255, no bad port) — as a path cannot make a URL invalid: so the Host is checked
   * once per connection, not the whole URL per request.
   */
  #requestUrl(head: Head): string {
    const target = head.target;
    if (target.charCodeAt(0) === 0x2f /* / */) {
      const host = head.headers.get("host") ?? "localhost";
      if (host !== this.#validHost) {
        if (!HOST.test(host) || !URL.canParse(this.scheme + host + "/")) {
          throw new Error("the Host header is invalid");
        }
        this.#validHost = host;
      }
      return this.scheme + host + target;
    }
    // Absolute-form: the authority is checked like a Host; the path and query go on as sent,
    // for the engine to decide about (proxy/request_target.ts), as in origin-form.
    const absolute = ABSOLUTE_FORM.exec(target);
    if (absolute !== null && HOST.test(absolute[2]) && URL.canParse(absolute[1] + absolute[2])) {
      return absolute[1].toLowerCase() + absolute[2] + (absolute[3] || "/");
    }
    throw new Error("the request target is invalid");
  }

  /**
   * A head (and a small body after it) as bytes in the connection's write buffer, which the
   * next response reuses: responses on a connection are written one after another, each
   * awaited. Falls back to new arrays when it does not fit or is not ASCII.
   */
  #encode(text: string, body?: Uint8Array): Uint8Array {
    const size = text.length + (body?.byteLength ?? 0);
    if (size <= WRITE_BUFFER_BYTES) {
      const wbuf = this.#wbuf ??= new Uint8Array(WRITE_BUFFER_BYTES);
      const head = encodeHead(text, wbuf);
      if (head.buffer === wbuf.buffer) {
        if (body !== undefined) wbuf.set(body, head.byteLength);
        return wbuf.subarray(0, size);
      }
    }
    const head = encodeHead(text);
    if (body === undefined) return head;
    const all = new Uint8Array(size);
    all.set(head);
    all.set(body, head.byteLength);
    return all;
  }

  async #send(data: Uint8Array, keepAlive: boolean): Promise<boolean> {
    try {
      await this.#writeTimed(data);
    } catch (err) {
      this.#writeError = err;
      this.close();
      return false;
    }
    return keepAlive;
  }

  /** Streams a body; an upstream failure ends the response without its proper end. */
  async #pump(
    head: Uint8Array,
    body: ReadableStream<Uint8Array>,
    chunked: boolean,
    declared: number,
    keepAlive: boolean,
  ): Promise<boolean> {
    let sent = 0;
    let frames: Uint8Array | undefined;
    /** The write in flight: one at a time, each awaited before the next chunk is read. */
    let writing = NOTHING;
    const conn = this.conn;
    const idleMs = this.server.idleTimeoutMs;
    const wrote = (n: number): Promise<void> | undefined => {
      const out = writing;
      writing = NOTHING; // a view of the upstream connection's buffer, maybe: not kept
      if (n < out.byteLength) return this.#writeTimed(out.subarray(n)); // it took a part
      this.writeDeadline = 0;
      return undefined;
    };
    // Called per chunk (per event on an event stream), so not an async function: its frame,
    // promise and resume steps were a third of what an event allocated (0.9 of 2.9 KiB in a
    // sampling heap profile of 1000 streams).
    const write = (value: Uint8Array): Promise<void> => {
      const size = value.byteLength;
      if (size === 0) return RESOLVED;
      sent += size;
      if (declared >= 0 && sent > declared) {
        return Promise.reject(new Error("the body is longer than declared"));
      }
      let out = value;
      if (chunked) {
        // The chunk with its frame in one write; a small one (an event) in a buffer this
        // response reuses for the next (a new array per event was most of an SSE stream's
        // garbage).
        const hex = size.toString(16);
        const total = hex.length + size + 4;
        if (total > MAX_FRAME_BUFFER_BYTES) out = new Uint8Array(total);
        else if (frames === undefined || frames.byteLength < total) {
          out = frames = new Uint8Array(
            Math.max(MIN_FRAME_BUFFER_BYTES, 2 ** Math.ceil(Math.log2(total))),
          );
        } else out = frames;
        let i = 0;
        for (; i < hex.length; i++) out[i] = hex.charCodeAt(i);
        out[i++] = CR;
        out[i++] = LF;
        out.set(value, i);
        i += size;
        out[i++] = CR;
        out[i++] = LF;
        out = out.subarray(0, i);
      }
      writing = out;
      this.writeDeadline = Date.now() + idleMs;
      try {
        return conn.write(out).then(wrote);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const pipe = directPipe(body);
    const reader = pipe === undefined ? body.getReader() : undefined;
    try {
      await this.#writeAll(head);
      if (reader === undefined) {
        await pipe!(write);
      } else {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          await write(value);
        }
      }
      if (declared >= 0 && sent < declared) throw new Error("the body is shorter than declared");
      if (chunked) await this.#writeTimed(LAST_CHUNK);
      this.#bytesOut = sent;
    } catch (err) {
      this.#bytesOut = sent;
      this.#writeError = err;
      this.server.options.hooks?.responseFailed?.(err);
      // The client sees the connection close before the body's end: an error, never a
      // truncated body passed off as complete.
      if (reader !== undefined) reader.cancel(err).catch(() => {});
      else body.cancel(err).catch(() => {});
      this.close();
      return false;
    }
    return keepAlive;
  }

  /** A response write: a client that stops reading for `idleTimeoutMs` is cut off. */
  async #writeTimed(data: Uint8Array): Promise<void> {
    this.writeDeadline = Date.now() + this.server.idleTimeoutMs;
    await this.#writeAll(data);
    this.writeDeadline = 0;
  }
}

async function cancelBody(body: ProxyResult["body"]): Promise<void> {
  if (body instanceof ReadableStream) await body.cancel().catch(() => {});
}

function isDisconnect(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.UnexpectedEof ||
    (err instanceof Error && /tls|handshake|certificate/i.test(err.message));
}
