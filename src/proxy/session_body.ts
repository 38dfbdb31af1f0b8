/**
 * A streamed response body that can be ended when its session ends: an event stream, or any
 * body still arriving when the answer's head goes out. {@linkcode SessionBody.end} finishes
 * it as if the upstream had: the server writes the chunked terminator (or, for a body that
 * declared its length, closes the connection, since the body came out short). The upstream's
 * side is cancelled, which closes that connection.
 *
 * The upstream client's direct pipe (`http1/direct_pipe.ts`) is kept: the server still writes
 * the upstream's buffer straight to the client, through a write that refuses to go on once
 * the body has ended, and the end waits for a write under way so the terminator never
 * interleaves with a chunk.
 *
 * @example
 * ```ts ignore
 * const body = new SessionBody(result.body);
 * body.onClosed = registry.follow(session, () => body.end());
 * return { ...result, body: body.stream };
 * ```
 *
 * @module
 */
import { type DirectPipe, directPipe, registerDirectPipe } from "../http1/direct_pipe.ts";

/** The reason the upstream's body is cancelled with. */
const ENDED = new DOMException("The session ended", "AbortError");
/** What the end signal resolves to. */
const END: unique symbol = Symbol("end");

/** A body stream that ends when told. */
export class SessionBody {
  /** Called once when the body is over, however it ended (to stop following it). */
  onClosed: () => void = () => {};
  /** What the server sends instead of the upstream's stream. */
  readonly stream: ReadableStream<Uint8Array>;
  readonly #inner: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #ended = false;
  /** Resolved by {@linkcode end}; the direct pipe waits on it once. */
  readonly #endSignal = Promise.withResolvers<typeof END>();
  /** Wakes the pull under way (a fresh promise per pull: see `session_tunnel.ts`). */
  #wake: (() => void) | undefined;
  /** A direct-pipe write under way. */
  #writing: Promise<void> | undefined;
  #closed = false;

  constructor(inner: ReadableStream<Uint8Array>) {
    this.#inner = inner;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: (controller) => this.#pull(controller),
      cancel: (reason) => {
        this.#closeUp();
        return (this.#reader ?? this.#inner).cancel(reason).catch(() => {});
      },
    }, { highWaterMark: 0 });
    const pipe = directPipe(inner);
    if (pipe !== undefined) registerDirectPipe(this.stream, (write) => this.#pipe(pipe, write));
  }

  /** The session ended: the body ends cleanly where it is. Idempotent. */
  end(): void {
    if (this.#ended || this.#closed) return;
    this.#ended = true;
    this.#endSignal.resolve(END);
    this.#wake?.();
    if (this.#reader !== undefined) {
      // Read as a stream: a read waiting for the upstream resolves as the end.
      try {
        this.#controller.close();
      } catch {
        // closed or errored already
      }
      this.#reader.cancel(ENDED).catch(() => {});
      this.#closeUp();
    }
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.#ended) {
      if (this.#reader === undefined) {
        controller.close();
        this.#closeUp();
        await this.#inner.cancel(ENDED).catch(() => {});
      }
      return;
    }
    const reader = this.#reader ??= this.#inner.getReader();
    try {
      const woken = new Promise<typeof END>((resolve) => this.#wake = () => resolve(END));
      const r = await Promise.race([reader.read(), woken]);
      this.#wake = undefined;
      if (r === END || this.#ended) return; // end() closed the stream
      if (r.done) {
        controller.close();
        this.#closeUp();
      } else {
        controller.enqueue(r.value);
      }
    } catch (err) {
      this.#closeUp();
      controller.error(err);
    }
  }

  /** The server's direct pipe: the upstream's, until it ends or the session does. */
  async #pipe(pipe: DirectPipe, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    try {
      if (this.#ended) {
        await this.#inner.cancel(ENDED).catch(() => {});
        return;
      }
      const guarded = async (chunk: Uint8Array) => {
        if (this.#ended) throw ENDED;
        const writing = write(chunk);
        this.#writing = writing;
        try {
          await writing;
        } finally {
          this.#writing = undefined;
        }
      };
      const piping = pipe(guarded);
      const first = await Promise.race([piping, this.#endSignal.promise]);
      if (first !== END) return;
      // Ended: nothing more is written after the chunk under way (its bytes are a view of
      // the upstream's buffer, so the upstream is cancelled only after it).
      piping.catch(() => {});
      await this.#writing?.catch(() => {});
      await this.#inner.cancel(ENDED).catch(() => {});
    } finally {
      this.#closeUp();
    }
  }

  #closeUp(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onClosed();
  }
}
