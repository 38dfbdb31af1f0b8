/**
 * HTTP/1.1 syntax shared by orygate's client (`client.ts`) and server
 * (`server.ts`): character classes, number parsing, and the chunked-coding decoder
 * (RFC 9112 §7.1). Both sides frame strictly: what does not parse is an error, never guessed.
 *
 * @example
 * ```ts
 * import { ChunkedDecoder } from "./syntax.ts";
 * const bytes = new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\n");
 * const decoder = new ChunkedDecoder();
 * const ranges: number[] = [];
 * decoder.decode(bytes, 0, bytes.length, ranges);
 * console.log(ranges, decoder.done); // [3, 8] true
 * ```
 *
 * @module
 */

export const HTAB = 9;
export const LF = 10;
export const CR = 13;
export const SP = 32;

/** Longest chunk-size line (with extensions) accepted. */
const MAX_CHUNK_LINE = 4096;
/** Most trailer bytes accepted after the last chunk. */
const MAX_TRAILER_BYTES = 64 * 1024;

/** RFC 9110 `tchar`, indexed by char code. */
export const TOKEN = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[ch.charCodeAt(0)] = 1;
}

/** Hex digit values, -1 for anything else, indexed by byte. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX["0123456789abcdef".charCodeAt(i)] = i;
  HEX["0123456789ABCDEF".charCodeAt(i)] = i;
}

/** Bad framing; the message completes "… sent …" or "… has …" in the caller's words. */
export class FramingError extends Error {}

/** Whether `s[from..to)` is a non-empty token. */
export function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const ch = s.charCodeAt(i);
    if (ch > 127 || TOKEN[ch] === 0) return false;
  }
  return true;
}

/** Index of the first LF in `buf[from..end)`, or -1. */
export function findLF(buf: Uint8Array, from: number, end: number): number {
  if (end - from > 256) {
    // Native search; it may look past `end` into stale bytes, so check the position.
    const i = buf.indexOf(LF, from);
    return i === -1 || i >= end ? -1 : i;
  }
  for (let i = from; i < end; i++) if (buf[i] === LF) return i;
  return -1;
}

/** A non-negative decimal in `s[from..to)`, or -1 when it is not one (or too large). */
export function parseDecimal(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Parses a Content-Length value (a list of equal numbers is allowed) against an earlier one. */
export function parseContentLength(value: string, earlier: number): number {
  let result = earlier;
  let from = 0;
  for (;;) {
    let to = value.indexOf(",", from);
    if (to === -1) to = value.length;
    let s = from;
    let e = to;
    while (s < e && isOws(value.charCodeAt(s))) s++;
    while (e > s && isOws(value.charCodeAt(e - 1))) e--;
    const n = parseDecimal(value, s, e);
    if (n < 0) throw new FramingError(`an invalid Content-Length: "${value}"`);
    if (result !== -1 && result !== n) throw new FramingError("conflicting Content-Length values");
    result = n;
    if (to === value.length) return result;
    from = to + 1;
  }
}

export function isOws(ch: number): boolean {
  return ch === SP || ch === HTAB;
}

/** `buf[start..end)` as a Latin-1 string (header values are byte strings). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

const asciiEncoder = new TextEncoder();

/**
 * A head's text as bytes, into `into` when it fits: ASCII through the fast encoder, anything
 * else as Latin-1 (header values are byte strings: each char is one byte, never UTF-8).
 */
export function encodeHead(text: string, into?: Uint8Array): Uint8Array {
  if (into !== undefined) {
    const { read, written } = asciiEncoder.encodeInto(text, into);
    if (read === text.length && written === text.length) return into.subarray(0, written);
  } else {
    const bytes = asciiEncoder.encode(text);
    if (bytes.byteLength === text.length) return bytes;
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Size of the {@linkcode takeScratch} buffers. */
export const SCRATCH_BYTES = 4 * 1024;
/** Most scratch buffers kept for reuse (writes in flight at once rarely reach this). */
const MAX_SPARE_SCRATCH = 64;
const spareScratch: Uint8Array[] = [];

/**
 * A {@linkcode SCRATCH_BYTES} buffer for one write (a head, a chunk with its frame): give it
 * back with {@linkcode giveScratch} once that write has settled, so it is never changed while
 * the runtime may still read it. Shared this way instead of one per connection: a thousand
 * open event streams held 4 KiB each for a head written once.
 */
export function takeScratch(): Uint8Array {
  return spareScratch.pop() ?? new Uint8Array(SCRATCH_BYTES);
}

/** Returns a buffer from {@linkcode takeScratch}; its write must have settled. */
export function giveScratch(buf: Uint8Array): void {
  if (spareScratch.length < MAX_SPARE_SCRATCH) spareScratch.push(buf);
}

/** Writes all of `data` to `conn` (one write may take only part). */
export async function writeAll(conn: Pick<Deno.Conn, "write">, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await conn.write(off === 0 ? data : data.subarray(off));
}

/**
 * Checks a head's bytes: only visible characters, spaces, tabs and CRLF/LF line ends.
 * Returns whether all bytes are ASCII; throws {@linkcode FramingError} on control bytes.
 */
export function checkHeadBytes(buf: Uint8Array, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b < SP) {
      if (b === HTAB || b === LF || (b === CR && buf[i + 1] === LF)) continue;
      throw new FramingError(
        b === 0 ? "a NUL byte in its head" : "a control character in its head",
      );
    }
    if (b >= 0x7f) {
      if (b === 0x7f) throw new FramingError("a control character in its head");
      ascii = false;
    }
  }
  return ascii;
}

const enum ChunkState {
  Size,
  Data,
  DataEnd,
  Trailer,
  Done,
}

/**
 * Undoes the chunked coding incrementally. Each {@linkcode decode} call consumes what it can
 * of `buf[pos..end)`, pushes the data ranges it found as `[start, end)` pairs, and returns
 * where it stopped; trailers are read and dropped. Throws {@linkcode FramingError}.
 */
export class ChunkedDecoder {
  done = false;
  #state = ChunkState.Size;
  #remaining = 0;
  #trailerBytes = 0;

  /**
   * `strict` (requests from clients): chunk-size lines and chunk data end with CRLF only.
   * A bare LF there let `3;x="a<CRLF>b"<CRLF>abc` read `abc` as a size (0xABC) where a
   * quote-aware parser in front reads a 3-byte chunk; strict framing leaves no two readings.
   * Responses from upstreams keep RFC 9112's leniency (a recipient MAY accept a bare LF).
   */
  constructor(readonly strict = false) {}

  decode(buf: Uint8Array, pos: number, end: number, ranges: number[]): number {
    scan: while (pos < end) {
      switch (this.#state) {
        case ChunkState.Size: {
          const lf = findLF(buf, pos, end);
          if (lf === -1) {
            if (end - pos > MAX_CHUNK_LINE) throw new FramingError("a chunk-size line too long");
            break scan;
          }
          if (this.strict && (lf === pos || buf[lf - 1] !== CR)) {
            throw new FramingError("a chunk-size line not ended by CRLF");
          }
          const size = parseChunkSize(buf, pos, lf);
          pos = lf + 1;
          if (size === 0) {
            this.#state = ChunkState.Trailer;
          } else {
            this.#remaining = size;
            this.#state = ChunkState.Data;
          }
          break;
        }
        case ChunkState.Data: {
          const avail = end - pos;
          const n = avail < this.#remaining ? avail : this.#remaining;
          ranges.push(pos, pos + n);
          pos += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = ChunkState.DataEnd;
          break;
        }
        case ChunkState.DataEnd: {
          if (buf[pos] === LF && !this.strict) {
            pos += 1;
          } else if (buf[pos] === CR) {
            if (pos + 1 >= end) break scan;
            if (buf[pos + 1] !== LF) throw new FramingError("chunk data longer than its size");
            pos += 2;
          } else {
            throw new FramingError("chunk data longer than its size");
          }
          this.#state = ChunkState.Size;
          break;
        }
        case ChunkState.Trailer: {
          const lf = findLF(buf, pos, end);
          if (lf === -1) {
            if (this.#trailerBytes + end - pos > MAX_TRAILER_BYTES) {
              throw new FramingError("trailers larger than 64 KiB");
            }
            break scan;
          }
          const empty = lf === pos || (lf === pos + 1 && buf[pos] === CR);
          this.#trailerBytes += lf + 1 - pos;
          if (this.#trailerBytes > MAX_TRAILER_BYTES) {
            throw new FramingError("trailers larger than 64 KiB");
          }
          // A trailer line is a field (`name: value`): anything else, such as a request line
          // smuggled after the last chunk, is a framing error, not a dropped trailer.
          if (!empty && !isTrailerField(buf, pos, lf)) {
            throw new FramingError("a trailer line that is not a header field");
          }
          pos = lf + 1;
          if (empty) {
            this.#state = ChunkState.Done;
            this.done = true;
            break scan;
          }
          // Trailer fields are dropped: the head they would amend has already gone on.
          break;
        }
        default:
          break scan;
      }
    }
    return pos;
  }
}

/** Parses `1*HEXDIG [ BWS ";" chunk-ext ] [CR]` in `buf[from..lf)`. */
function parseChunkSize(buf: Uint8Array, from: number, lf: number): number {
  let size = 0;
  let i = from;
  for (; i < lf; i++) {
    const digit = HEX[buf[i]];
    if (digit === -1) break;
    size = size * 16 + digit;
  }
  const digits = i - from;
  if (digits === 0 || digits > 12) throw new FramingError("an invalid chunk size");
  for (; i < lf; i++) {
    const b = buf[i];
    if (b === SP || b === HTAB) continue;
    if (b === CR && i === lf - 1) break;
    if (b !== 0x3b) throw new FramingError("an invalid chunk size");
    // A chunk extension: skipped, but it must not hide control characters.
    for (i++; i < lf; i++) {
      const e = buf[i];
      if ((e < SP && e !== HTAB && !(e === CR && i === lf - 1)) || e === 0x7f) {
        throw new FramingError("an invalid chunk extension");
      }
    }
  }
  return size;
}

import { FieldList } from "./field_list.ts";

/** Whether `buf[from..lf)` starts with a token followed by a colon. */
function isTrailerField(buf: Uint8Array, from: number, lf: number): boolean {
  let i = from;
  while (i < lf && buf[i] < 128 && TOKEN[buf[i]] === 1) i++;
  return i > from && i < lf && buf[i] === 0x3a;
}

/** More header lines than allowed (a server answers 431). */
export class TooManyFields extends FramingError {}

/** The header fields of a head, with what framing needs already picked out. */
export interface Fields {
  /** Every field but `Expect`, in order. */
  readonly headers: Headers;
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  /** `Connection` lists `close` / `keep-alive`. */
  readonly close: boolean;
  readonly keepAlive: boolean;
  /** How many `Host` fields there were. */
  readonly hosts: number;
  /** The `Expect` value, which is the receiver's business and never forwarded. */
  readonly expect: string | undefined;
}

/**
 * Parses the field lines of a head from `text[pos..]` up to its empty line (the head must be
 * complete). Strict: obs-fold, names that are not tokens, unknown transfer codings, a
 * Transfer-Encoding that does not end in chunked (even an empty one), Content-Length with
 * Transfer-Encoding or conflicting lengths throw {@linkcode FramingError}.
 */
export function parseFields(text: string, pos: number, maxLines: number): Fields {
  const headers = new FieldList();
  let contentLength = -1;
  let chunked = false;
  let transferEncoding = false;
  let close = false;
  let keepAlive = false;
  let hosts = 0;
  let expect: string | undefined;
  let lines = 0;
  for (;;) {
    const lf = text.indexOf("\n", pos);
    const eol = lf > pos && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
    if (eol === pos) break;
    if (++lines > maxLines) throw new TooManyFields(`more than ${maxLines} header fields`);
    const first = text.charCodeAt(pos);
    if (first === SP || first === HTAB) {
      throw new FramingError("a folded header line (obs-fold), which HTTP/1.1 forbids");
    }
    const colon = text.indexOf(":", pos);
    if (colon === -1 || colon > eol || colon === pos) {
      throw new FramingError("a header line without a name");
    }
    if (!isToken(text, pos, colon)) throw new FramingError("an invalid header name");
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && isOws(text.charCodeAt(vs))) vs++;
    while (ve > vs && isOws(text.charCodeAt(ve - 1))) ve--;
    const name = text.slice(pos, colon);
    const value = text.slice(vs, ve);
    pos = lf + 1;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") hosts++;
        break;
      case 6:
        if (name.toLowerCase() === "expect") {
          expect = value;
          continue;
        }
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          for (const token of value.split(",")) {
            const t = token.trim().toLowerCase();
            if (t === "close") close = true;
            else if (t === "keep-alive") keepAlive = true;
          }
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          contentLength = parseContentLength(value, contentLength);
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") {
          transferEncoding = true;
          for (const token of value.split(",")) {
            const t = token.trim().toLowerCase();
            if (t === "") continue;
            if (t !== "chunked" || chunked) {
              throw new FramingError(`an unsupported Transfer-Encoding: "${value}"`);
            }
            chunked = true;
          }
        }
        break;
    }
    // The name is a token and checkHeadBytes() has refused control bytes in the value.
    headers.appendTrusted(name.toLowerCase(), value);
  }
  // RFC 9112 §6.3: a Transfer-Encoding whose final coding is not chunked (here: an empty
  // list, or only commas) leaves the length unknown; never fall back to Content-Length.
  if (transferEncoding && !chunked) {
    throw new FramingError("a Transfer-Encoding without the chunked coding");
  }
  if (chunked && contentLength !== -1) {
    throw new FramingError("both Transfer-Encoding and Content-Length");
  }
  return { headers, contentLength, chunked, close, keepAlive, hosts, expect };
}

/**
 * Takes the buffered bytes of a body with a known length: at most `remaining` of
 * `from.buf[start..end)` become one `[start, end)` pair in `ranges`, and `from.start` moves past
 * them. Returns how many bytes of the body are still to come.
 */
export function takeLength(
  from: { start: number; readonly end: number },
  remaining: number,
  ranges: number[],
): number {
  const avail = from.end - from.start;
  const n = avail < remaining ? avail : remaining;
  if (n === 0) return remaining;
  ranges.push(from.start, from.start + n);
  from.start += n;
  return remaining - n;
}

/** Copies the `[start, end)` ranges of `buf` into one new array. */
export function gather(buf: Uint8Array, ranges: readonly number[]): Uint8Array<ArrayBuffer> {
  if (ranges.length === 2) return buf.slice(ranges[0], ranges[1]);
  let total = 0;
  for (let i = 0; i < ranges.length; i += 2) total += ranges[i + 1] - ranges[i];
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    out.set(buf.subarray(ranges[i], ranges[i + 1]), at);
    at += ranges[i + 1] - ranges[i];
  }
  return out;
}
