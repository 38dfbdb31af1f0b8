/**
 * One request/response exchange of the HTTP/1.1 client, from picking a pooled connection to
 * the end of the response body: the request head and body go out (with their own framing),
 * the response head is read under a deadline, and the body comes back as bytes, a stream or
 * a direct pipe (`framed_body.ts`); a 101 hands the socket over.
 *
 * @module
 */
import { UpstreamError } from "../errors.ts";
import { BodyFramer, type Framing } from "./body_framer.ts";
import type { ClientState, Connection, Pool } from "./client_pool.ts";
import { READ_BUFFER_BYTES } from "./client_pool.ts";
import { directPipe, registerDirectPipe } from "./direct_pipe.ts";
import { FramedBody } from "./framed_body.ts";
import { parseHead, type ResponseHead, Violation } from "./response_head.ts";
import {
  CR,
  encodeHead,
  FramingError,
  giveScratch,
  LF,
  parseDecimal,
  takeScratch,
} from "./syntax.ts";
import type { UpstreamRequest, UpstreamResponse } from "./upstream.ts";

/** A response head (with any 1xx before it) must fit in the read buffer. */
const MAX_HEAD_BYTES = READ_BUFFER_BYTES;

const encoder = new TextEncoder();
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const CRLF_LAST_CHUNK = encoder.encode("\r\n0\r\n\r\n");

/** Methods whose bodyless requests still announce `content-length: 0`, as node:http does. */
const EMPTY_BODY_LENGTH_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Error names that read well in "could not be reached (…)". */
const CONNECT_ERROR_NAME =
  /^(Connection\w*|TimedOut|AddrNotAvailable|NotConnected|NetworkUnreachable|HostUnreachable)$/;

/** What resolves and rejects an exchange's promise once it has settled. */
const SETTLED = () => {};

/** Thrown by a request-body write to stop sending quietly (the exchange decides the rest). */
const STOP = new Error("stop sending the request body");

/** A connection failed before any response byte: worth one retry if it was a pooled one. */
class StaleConnection extends Error {}

/** Where the request is on its way out. */
const enum Sending {
  /** The head is going out; a body has not begun (a stale pooled connection is retried). */
  Head,
  /** The head went out and there is no body: complete (and still retryable). */
  Bodyless,
  /** The body is being sent. */
  Body,
  /** Sent whole, or the rest abandoned (the upstream answered early, or the exchange ended). */
  Done,
}

/** Where the response is. */
const enum Receiving {
  /** Waiting for the head: the caller's promise is not settled yet. */
  Head,
  /** The head was handed over; its body is being read. */
  Body,
  /** Read whole, aborted, failed or upgraded: the abort listener is gone. */
  Done,
}

/** One request/response exchange, from picking a connection to the end of the body. */
export class Exchange implements EventListenerObject {
  readonly promise: Promise<UpstreamResponse>;
  bucket: Set<Exchange> | undefined;
  #resolve!: (res: UpstreamResponse) => void;
  #reject!: (err: unknown) => void;
  readonly #state: ClientState;
  /**
   * The request without its headers, which go into `#head` at once: an exchange lives as long
   * as its response body (hours for an event stream), and the headers it kept (with the
   * forwarded cookies and JWT) were most of what a stream's request held on to.
   */
  readonly #request: Omit<UpstreamRequest, "headers">;
  readonly #pool: Pool;
  #head = "";
  /** -2: no body; -1: chunked; otherwise the Content-Length. */
  #length = -2;
  #conn: Connection | undefined;
  #sending = Sending.Head;
  #receiving = Receiving.Head;
  #bodyReader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** The response allows the connection to be reused (keep-alive, not close-delimited). */
  #reusable = false;
  #source: BodySource | undefined;
  abortReason: unknown;

  constructor(state: ClientState, request: UpstreamRequest) {
    this.#state = state;
    const { url, method, body, signal, upstream, timeoutMs, upgrade } = request;
    this.#request = { url, method, body, signal, upstream, timeoutMs, upgrade };
    this.promise = new Promise<UpstreamResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#pool = state.pool(url);
    if (signal.aborted) {
      this.#receiving = Receiving.Done;
      this.#sending = Sending.Done;
      this.#reject(signal.reason ?? new DOMException("The request was aborted", "AbortError"));
      return;
    }
    try {
      this.#prepareHead(request.headers);
    } catch (err) {
      this.#receiving = Receiving.Done;
      this.#sending = Sending.Done;
      this.#reject(err);
      return;
    }
    signal.addEventListener("abort", this);
    if (timeoutMs > 0 && timeoutMs < Infinity) state.deadlines.add(this, timeoutMs);
    void this.#run();
  }

  /** Builds the request head text and picks the body framing. */
  #prepareHead(headers: Headers): void {
    const req = this.#request;
    const url = req.url;
    let head = req.method + " " + url.pathname + url.search + " HTTP/1.1\r\n";
    let host = false;
    let contentLength: string | undefined;
    headers.forEach((value, name) => {
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
        if (this.#receiving !== Receiving.Head) {
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
        if (this.#receiving !== Receiving.Head) return;
        if (
          err instanceof StaleConnection && reused &&
          (this.#sending === Sending.Head || this.#sending === Sending.Bodyless)
        ) {
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
    const scratch = takeScratch();
    try {
      await c.writeAll(encodeHead(this.#head, scratch));
    } catch (err) {
      throw new StaleConnection("write failed", { cause: err });
    } finally {
      giveScratch(scratch);
    }
    if (req.body === null) this.#sending = Sending.Bodyless;
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
    this.#head = ""; // kept for a retry on a fresh connection; there is none after an answer

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
    this.#receiving = Receiving.Body;
    if (body === null || this.#source === undefined) this.responseEnded();
    this.#resolve({ status, statusText: head.statusText, headers: head.headers, body });
    // Settled: the exchange lives on with the body (hours, for an event stream), its promise's
    // resolving functions need not.
    this.#resolve = this.#reject = SETTLED;
  }

  /** Hands the connection over after a 101: it leaves the pool and this exchange for good. */
  #upgraded(c: Connection, head: ResponseHead): void {
    this.#state.deadlines.remove(this);
    this.#received();
    this.#sending = Sending.Done;
    const leftover = c.buf.slice(c.start, c.end);
    c.detach();
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
    this.#sending = Sending.Body;
    let sent = 0;
    let upstreamStopped = false;
    const send = async (data: Uint8Array): Promise<void> => {
      if (c.closed || this.#receiving === Receiving.Done) throw STOP;
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
          if (c.closed || this.#receiving === Receiving.Done) return;
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
    this.#sending = Sending.Done;
    this.#bodyReader = undefined;
  }

  /** The request body could not be sent whole: the upstream must not take it as complete. */
  #requestFailed(c: Connection, err: unknown): void {
    const error = err instanceof UpstreamError
      ? err
      : this.#protocol(`body broke off (${describe(err)})`, "request", err);
    this.#bodyReader?.cancel(error).catch(() => {});
    this.#bodyReader = undefined;
    // Both sides done: the connection is no longer this exchange's.
    if (this.#receiving === Receiving.Done && this.#sending === Sending.Done) return;
    c.destroy(error);
    if (this.#receiving === Receiving.Head) this.#fail(error);
    else this.#source?.abort(error);
  }

  /** Called once the response body was read whole (or there was none). */
  responseEnded(): void {
    if (this.#receiving === Receiving.Done) return;
    this.#received();
    const c = this.#conn!;
    if (this.#sending === Sending.Head || this.#sending === Sending.Body) {
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
    this.#received();
    this.#sending = Sending.Done;
    this.#bodyReader?.cancel(reason).catch(() => {});
    this.#bodyReader = undefined;
    this.#conn?.destroy(reason);
  }

  /** The request's signal fired: the client went away. */
  handleEvent(): void {
    const reason = this.#request.signal.reason ??
      new DOMException("The request was aborted", "AbortError");
    this.abortReason = reason;
    if (this.#receiving === Receiving.Head) {
      this.#fail(reason);
      return;
    }
    this.#source?.abort(reason);
  }

  timedOut(): void {
    if (this.#receiving !== Receiving.Head) return;
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
    if (this.#receiving !== Receiving.Head) return;
    this.#state.deadlines.remove(this);
    this.#received();
    this.#sending = Sending.Done;
    this.#bodyReader?.cancel(err).catch(() => {});
    this.#bodyReader = undefined;
    this.#conn?.destroy(err);
    this.#reject(err);
  }

  /** The response side is over: stop listening for the client's abort. */
  #received(): void {
    if (this.#receiving === Receiving.Done) return;
    this.#receiving = Receiving.Done;
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

  protected override startRead(): Promise<number | null> {
    return this.c.startRead();
  }

  protected override took(n: number | null): number | null {
    return this.c.took(n);
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
  const w = takeScratch();
  try {
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
  } finally {
    giveScratch(w);
  }
}

/** A short reason for an error message: a network error's name, else its message. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    if (CONNECT_ERROR_NAME.test(err.name) || err.name === "BrokenPipe") return err.name;
    return err.message;
  }
  return String(err);
}
