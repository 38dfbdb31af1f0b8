/**
 * A body stream that can also be written out without the stream machinery.
 *
 * Reading a response body through a `ReadableStream` hands each chunk over as a new array; a
 * 1 GiB download through orygate then left ~64 MiB of spent arrays waiting for the garbage
 * collector at any time, and 1000 SSE streams paid for the stream plumbing per event. The
 * upstream client registers a direct pipe for the streams it creates: a server that finds one
 * calls it with its write function, and the bytes go from the upstream connection's buffer to
 * the client connection as views, with no copy. Anything else reads the stream as usual.
 *
 * @example
 * ```ts
 * import { directPipe, registerDirectPipe } from "./direct_pipe.ts";
 * const body = new ReadableStream<Uint8Array>();
 * registerDirectPipe(body, async (write) => await write(new TextEncoder().encode("hi")));
 * const sent: Uint8Array[] = [];
 * await directPipe(body)?.(async (chunk) => { sent.push(chunk.slice()); });
 * console.log(sent.length); // 1
 * ```
 *
 * @module
 */

/**
 * Writes the whole body with `write`, awaiting each write before reading on (the chunk is a
 * view that is only valid until then). Rejects when the body breaks off; the stream must not
 * be used afterwards.
 */
export type DirectPipe = (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>;

const pipes = new WeakMap<ReadableStream<Uint8Array>, DirectPipe>();

/** Offers `pipe` as a way to send `stream`'s bytes (before anyone reads the stream). */
export function registerDirectPipe(stream: ReadableStream<Uint8Array>, pipe: DirectPipe): void {
  pipes.set(stream, pipe);
}

/** The direct pipe for `stream`, if it has one and nobody has started reading it. */
export function directPipe(stream: ReadableStream<Uint8Array>): DirectPipe | undefined {
  if (stream.locked) return undefined;
  return pipes.get(stream);
}
