/**
 * WebSocket frame boundaries in a byte stream (RFC 6455 §5.2), and close frames. A joined
 * tunnel carries the two sides' bytes untouched; to end it with a close frame of its own,
 * orygate must put that frame where one of the upstream's frames ends (a control frame may
 * come between the fragments of a message, never inside a frame), and it must recognise the
 * client's close frame that answers it. Only frame headers are read: payloads are skipped by
 * their length, so following a stream costs a few operations per frame, none per byte.
 *
 * @example
 * ```ts
 * import { closeFrame, FrameBoundaries } from "./websocket_frames.ts";
 * const frames = new FrameBoundaries();
 * frames.feed(new Uint8Array([0x81, 0x02, 0x68])); // a text frame "hi", one byte short
 * console.log(frames.atBoundary); // false
 * frames.feed(new Uint8Array([0x69]));
 * console.log(frames.atBoundary); // true
 * console.log(closeFrame(1008, "bye").byteLength); // 2 + 2 + 3
 * ```
 *
 * @module
 */

/** The opcode of a close frame. */
const CLOSE = 0x8;

/** Follows the frames of one direction of a WebSocket connection. */
export class FrameBoundaries {
  /** Payload bytes of the current frame not yet seen. */
  #left = 0;
  /** The next frame's header bytes seen so far (a header is at most 14 bytes). */
  readonly #head = new Uint8Array(14);
  #headBytes = 0;
  /** Whether a close frame's header has gone by since the last {@linkcode resetClose}. */
  closeSeen = false;

  /** Whether the bytes fed so far end exactly where a frame ends (or nothing was fed). */
  get atBoundary(): boolean {
    return this.#left === 0 && this.#headBytes === 0;
  }

  /** Forgets close frames seen so far. */
  resetClose(): void {
    this.closeSeen = false;
  }

  /**
   * Follows `bytes`; returns how many were taken: all of them, or with `stopAtBoundary` only
   * those up to the first place a frame ends (none if the stream is at a boundary already).
   */
  feed(bytes: Uint8Array, stopAtBoundary = false): number {
    if (stopAtBoundary && this.atBoundary) return 0;
    const end = bytes.byteLength;
    let i = 0;
    while (i < end) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, end - i);
        i += n;
        this.#left -= n;
        if (this.#left === 0 && stopAtBoundary) return i;
        continue;
      }
      const head = this.#head;
      head[this.#headBytes++] = bytes[i++];
      if (this.#headBytes < 2 || this.#headBytes < headerSize(head)) continue;
      this.#left = payloadLength(head);
      if ((head[0] & 0x0f) === CLOSE) this.closeSeen = true;
      this.#headBytes = 0;
      if (this.#left === 0 && stopAtBoundary) return i;
    }
    return i;
  }
}

/** A header's size, from its first two bytes: 2, the extended length, the masking key. */
function headerSize(head: Uint8Array): number {
  const len7 = head[1] & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (head[1] & 0x80 ? 4 : 0);
}

function payloadLength(head: Uint8Array): number {
  const len7 = head[1] & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (head[2] << 8) | head[3];
  // 64 bits; lengths past 2^53 do not occur (and would not fit in memory anywhere).
  let n = 0;
  for (let k = 2; k < 10; k++) n = n * 256 + head[k];
  return n;
}

const encoder = new TextEncoder();

/**
 * A close frame with `code` and `reason` (at most 123 bytes of UTF-8). With `masked`, as a
 * client must send it (RFC 6455 §5.3: a fresh random masking key); else as a server sends it.
 */
export function closeFrame(code: number, reason: string, masked = false): Uint8Array {
  const text = encoder.encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + text.byteLength);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  const headBytes = masked ? 6 : 2;
  const frame = new Uint8Array(headBytes + payload.byteLength);
  frame[0] = 0x80 | CLOSE; // FIN, close
  frame[1] = (masked ? 0x80 : 0) | payload.byteLength;
  if (masked) {
    const key = crypto.getRandomValues(new Uint8Array(4));
    frame.set(key, 2);
    for (let k = 0; k < payload.byteLength; k++) payload[k] ^= key[k & 3];
  }
  frame.set(payload, headBytes);
  return frame;
}
