/**
 * A framed body read off a connection, for the server (request bodies) and the client
 * (response bodies): the {@linkcode BodyFramer} finds its bytes in the connection's buffer,
 * and they leave either as a `ReadableStream` (each pull copies what is buffered into one
 * chunk) or through the direct pipe (`direct_pipe.ts`: views of the buffer written straight
 * to the other socket, each write awaited before the next read). The two loops were written
 * twice before, once per side; the sides now differ only in their hooks: how to read more,
 * what the end means, how a failure is named, and what a failed pipe write does.
 *
 * @example
 * ```ts ignore
 * class MyBody extends FramedBody {
 *   protected fill() { return conn.fill(); }
 *   protected ended() {}
 *   protected failure(err: unknown) { return err; }
 *   protected brokeOff() { return new Error("closed mid-body"); }
 * }
 * ```
 */
import type { BodyFramer, Buffered } from "./body_framer.ts";
import { gather } from "./syntax.ts";

/** A pipe write failed: the other connection's business, told apart from a read failure. */
class WriteFailed {
  constructor(readonly cause: unknown) {}
}

/** The body's stream source and direct pipe; subclasses supply the hooks. */
export abstract class FramedBody implements UnderlyingDefaultSource<Uint8Array> {
  /** Bytes taken before the stream existed (a copy), handed out first. */
  first: Uint8Array | undefined;
  /** Reused list of `[start, end)` ranges found by one take. */
  readonly #ranges: number[] = [];
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  /** Ended, cancelled or failed: nothing more is read. */
  #over = false;
  #reason: unknown;

  constructor(readonly source: Buffered, readonly framer: BodyFramer) {}

  /** The whole body has been taken off the connection. */
  get done(): boolean {
    return this.framer.done;
  }

  /** Reads more into `source`; null at the end of input. */
  protected abstract fill(): Promise<number | null>;
  /**
   * {@linkcode fill} in two halves, `took(await startRead())`, which the loops below call: a
   * subclass that can split its read so avoids an async frame of its own per read (kept
   * suspended for each event of an event stream, ~0.5 KiB each). Default: fill() whole, and
   * `took` passing its result on.
   */
  protected startRead(): Promise<number | null> {
    return this.fill();
  }
  /** The second half of {@linkcode startRead}: counts the bytes the read brought. */
  protected took(n: number | null): number | null {
    return n;
  }
  /** The body was read whole. */
  protected abstract ended(): void;
  /** The error the consumer sees for a read or framing failure (reacting to it as needed). */
  protected abstract failure(err: unknown): unknown;
  /** The error for input that ended before the body did. */
  protected abstract brokeOff(): Error;
  /** Before the first bytes are wanted (the server answers `Expect: 100-continue` here). */
  protected begin(): void | Promise<void> {}
  /** The consumer cancelled the stream. */
  protected cancelled(_reason: unknown): void {}
  /** After the stream was errored by {@linkcode abort}. */
  protected aborted(_reason: unknown): void {}
  /**
   * A direct-pipe write failed. Default: a failure like any other. The server overrides it:
   * the upstream may have answered early, which ends the pipe but not the client connection.
   */
  protected writeFailure(err: unknown): { reason: unknown; abort: boolean } {
    return { reason: this.failure(err), abort: true };
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
  }

  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      await this.begin();
      if (this.first !== undefined) {
        controller.enqueue(this.first);
        this.first = undefined;
        return;
      }
      const ranges = this.#ranges;
      for (;;) {
        this.framer.take(this.source, ranges);
        if (ranges.length > 0) controller.enqueue(gather(this.source.buf, ranges));
        if (this.framer.done) {
          this.#over = true;
          controller.close();
          this.ended();
          return;
        }
        if (ranges.length > 0) return;
        const n = this.took(await this.startRead());
        if (n === null && !this.framer.inputEnded()) throw this.brokeOff();
        if (this.#over) return;
      }
    } catch (err) {
      if (this.#over) return;
      this.abort(this.failure(err));
    }
  }

  /** The direct pipe: body bytes as views of the connection's buffer, each write awaited. */
  async pipe(write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    const ranges = this.#ranges;
    try {
      await this.begin();
      if (this.first !== undefined) {
        const first = this.first;
        this.first = undefined;
        try {
          await write(first);
        } catch (err) {
          throw new WriteFailed(err);
        }
      }
      for (;;) {
        if (this.#over) throw this.#reason;
        this.framer.take(this.source, ranges);
        // Inline, not in helpers: each async step here is a frame kept per event (SSE).
        for (let i = 0; i < ranges.length; i += 2) {
          try {
            await write(this.source.buf.subarray(ranges[i], ranges[i + 1]));
          } catch (err) {
            throw new WriteFailed(err);
          }
          if (this.#over) throw this.#reason;
        }
        if (this.framer.done) {
          this.#over = true;
          this.ended();
          return;
        }
        const n = this.took(await this.startRead());
        if (n === null && !this.framer.inputEnded()) throw this.brokeOff();
      }
    } catch (err) {
      if (this.#over && err === this.#reason) throw err;
      if (err instanceof WriteFailed) {
        const { reason, abort } = this.writeFailure(err.cause);
        if (abort) this.abort(reason);
        throw reason;
      }
      const reason = this.failure(err);
      this.abort(reason);
      throw reason;
    }
  }

  cancel(reason: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#reason = reason;
    this.cancelled(reason);
  }

  /** Errors the stream (the peer broke off, the other side failed); nothing more is read. */
  abort(reason: unknown): void {
    if (this.#over) return;
    this.#over = true;
    this.#reason = reason;
    this.#controller?.error(reason);
    this.aborted(reason);
  }

  /** Takes what is buffered as one copy (before a stream exists); undefined when nothing. */
  takeCopy(): Uint8Array<ArrayBuffer> | undefined {
    this.framer.take(this.source, this.#ranges);
    return this.#ranges.length === 0 ? undefined : gather(this.source.buf, this.#ranges);
  }
}
