/**
 * One body framer for requests (server) and responses (client): it finds the body bytes in a
 * connection's read buffer by the message's framing — a Content-Length, the chunked coding,
 * or (responses only) the connection's end — and hands them on as `[start, end)` byte ranges
 * of that buffer, consuming them. Ranges, not copies: a consumer that can write views (the
 * direct pipe) writes them straight to the other socket; others gather them into one array.
 * Go keeps this once, under net/http/internal, for client and server alike.
 *
 * @example
 * ```ts
 * import { BodyFramer } from "./body_framer.ts";
 * const buffered = { buf: new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\n"), start: 0, end: 15 };
 * const framer = new BodyFramer({ kind: "chunked", strict: true });
 * const ranges: number[] = [];
 * framer.take(buffered, ranges); // ranges: [3, 8], framer.done: true
 * ```
 */
import { ChunkedDecoder, takeLength } from "./syntax.ts";

/** How a message's body is delimited. */
export type Framing =
  | { readonly kind: "length"; readonly length: number }
  /** `strict`: CRLF line ends only (requests from clients; see {@linkcode ChunkedDecoder}). */
  | { readonly kind: "chunked"; readonly strict: boolean }
  /** Until the connection ends (a response without a length, RFC 9112 §6.3). */
  | { readonly kind: "close" };

/** The buffered bytes of a connection: `buf[start..end)`, unconsumed. */
export interface Buffered {
  readonly buf: Uint8Array;
  start: number;
  readonly end: number;
}

/** Turns buffered bytes into body ranges; `done` once the body's end was found. */
export class BodyFramer {
  done = false;
  #remaining: number;
  readonly #decoder: ChunkedDecoder | undefined;
  readonly #untilClose: boolean;

  constructor(framing: Framing) {
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.#decoder = framing.kind === "chunked" ? new ChunkedDecoder(framing.strict) : undefined;
    this.#untilClose = framing.kind === "close";
    if (framing.kind === "length" && framing.length === 0) this.done = true;
  }

  /**
   * Pushes the `[start, end)` ranges of body bytes buffered in `from` onto `ranges` (which it
   * empties first) and consumes them; sets `done` at the body's end. Throws the chunked
   * decoder's FramingError for a broken chunked body.
   */
  take(from: Buffered, ranges: number[]): void {
    // Emptied by popping, not `length = 0`: that drops the array's backing store, and the next
    // push allocates a new one (170 bytes per take, once per event of an event stream).
    while (ranges.length > 0) ranges.pop();
    if (this.done) return;
    const decoder = this.#decoder;
    if (decoder !== undefined) {
      from.start = decoder.decode(from.buf, from.start, from.end, ranges);
      if (decoder.done) this.done = true;
    } else if (this.#untilClose) {
      if (from.end === from.start) return;
      ranges.push(from.start, from.end);
      from.start = from.end;
    } else {
      this.#remaining = takeLength(from, this.#remaining, ranges);
      if (this.#remaining === 0) this.done = true;
    }
  }

  /**
   * The input ended. For a body delimited by the connection's end that is its end (`done`
   * becomes true); for any other it broke off: returns false.
   */
  inputEnded(): boolean {
    if (this.#untilClose) this.done = true;
    return this.done;
  }
}
