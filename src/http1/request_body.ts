/**
 * A request body read off a client connection (`server_connection.ts`) as a stream or a
 * direct pipe, through the shared framer and body stream (`body_framer.ts`,
 * `framed_body.ts`); it answers `Expect: 100-continue` when the body is first wanted.
 *
 * @module
 */
import { BodyFramer } from "./body_framer.ts";
import { registerDirectPipe } from "./direct_pipe.ts";
import { FramedBody } from "./framed_body.ts";
import type { Head } from "./request_head.ts";
import type { Connection } from "./server_connection.ts";
import { FramingError, writeAll } from "./syntax.ts";

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** The request body as a stream (or a direct pipe), read off the connection with backpressure. */
export class RequestBody extends FramedBody {
  readonly stream: ReadableStream<Uint8Array>;
  #continued: boolean;

  constructor(readonly c: Connection, head: Head) {
    super(
      c,
      new BodyFramer(
        head.chunked
          ? { kind: "chunked", strict: true }
          : { kind: "length", length: head.contentLength },
      ),
    );
    this.#continued = !head.expectContinue;
    this.stream = new ReadableStream(this, { highWaterMark: 0 });
    registerDirectPipe(this.stream, (write) => this.pipe(write));
  }

  /** Answers `Expect: 100-continue` when the body is first wanted. */
  protected override async begin(): Promise<void> {
    if (this.#continued) return;
    this.#continued = true;
    await writeAll(this.c.conn, CONTINUE);
  }

  protected async fill(): Promise<number | null> {
    const c = this.c;
    c.deadline = Date.now() + c.server.idleTimeoutMs;
    try {
      return await c.fillBody();
    } finally {
      c.deadline = 0;
    }
  }

  /** From now on a client that leaves is noticed (the body's bytes have been written out). */
  protected ended(): void {
    this.c.watch();
  }

  /** The client broke the body: the connection cannot go on. */
  protected failure(err: unknown): unknown {
    this.c.close();
    return err instanceof FramingError ? new Error(`the request body has ${err.message}`) : err;
  }

  protected brokeOff(): Error {
    return new Error("the client closed the connection mid-body");
  }

  /**
   * A failed write is the consumer's business (the upstream may have answered early): it
   * ends the pipe but not the client's connection, which closes after the answer.
   */
  protected override writeFailure(err: unknown): { reason: unknown; abort: boolean } {
    return { reason: err, abort: false };
  }
}
