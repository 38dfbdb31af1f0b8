/**
 * One connection's read buffer, for the server (request heads and bodies) and the client
 * (response heads and bodies) alike: `buf[start..end)` holds bytes read and not yet consumed.
 * Reads land in the buffer itself (no copy); consumed bytes are dropped by compaction, and the
 * buffer doubles, up to a limit, when it is full or when a read filled all the room it was
 * given (a fast sender: read more at a time). Measured when this was two copies: a 16 KiB
 * start that grows to 64 KiB only under a fast body kept a 1 GiB transfer at 70 MiB RSS and
 * idle connections small.
 *
 * A read can be issued ahead ({@linkcode ReadBuffer.readAhead}) to notice the peer leaving
 * while nothing is expected; the next {@linkcode ReadBuffer.fill} takes it over, so its bytes
 * are never lost.
 *
 * @example
 * ```ts ignore
 * const rb = new ReadBuffer(conn, { initialBytes: 8192, maxBytes: 65536 });
 * while (rb.end - rb.start < 4) {
 *   if (await rb.fill() === null) throw new Error("closed");
 * }
 * ```
 */

/** No room left at the buffer's limit: an unfinished head or line longer than it. */
export class BufferFull extends Error {}

/** Sizes of a {@linkcode ReadBuffer}. */
export interface ReadBufferSizes {
  /** The first buffer (grown on demand). */
  readonly initialBytes: number;
  /** The most the buffer grows to; {@linkcode ReadBuffer.fill} may be given a lower one. */
  readonly maxBytes: number;
  /**
   * After {@linkcode SHRINK_AFTER_READS} reads in a row of at most half this, an empty buffer
   * is swapped for one this small. A connection carrying a slow stream of small events (SSE)
   * keeps a read pending into its buffer all the time; one that grew for a large body would
   * hold up to 64 KiB per stream. A read that fills it makes it grow again. Default: never.
   */
  readonly smallBytes?: number;
}

/** How many small reads in a row let a buffer shrink (see `smallBytes`). */
const SHRINK_AFTER_READS = 8;

/**
 * Most bytes one read asks for. Each read of a streamed body becomes one chunk: smaller chunks
 * mean less garbage waiting for the collector (peak memory on large downloads), larger ones
 * fewer reads.
 */
const MAX_READ_BYTES = 32 * 1024;
/** Consumed bytes are dropped (the rest moved to the front) when less room than this is left. */
const MIN_ROOM_BYTES = 8 * 1024;

/** A connection and its read buffer. */
export class ReadBuffer {
  buf: Uint8Array;
  start = 0;
  end = 0;
  /** A read issued ahead ({@linkcode readAhead}), landing at `end`. */
  pending: Promise<number | null> | undefined;
  /** The last read filled all the room it was given. */
  #full = false;
  /** Reads in a row that returned at most half of `smallBytes`. */
  #smallReads = 0;
  /** The room the read in flight was given (-1: one issued ahead). */
  #asked = -1;
  /** The last view a read was given, and the buffer it is of (see #readView). */
  #view: Uint8Array | undefined;
  #viewOf: Uint8Array | undefined;
  readonly #maxBytes: number;
  readonly #smallBytes: number;

  constructor(readonly conn: Deno.Conn, sizes: ReadBufferSizes) {
    this.buf = new Uint8Array(sizes.initialBytes);
    this.#maxBytes = sizes.maxBytes;
    this.#smallBytes = sizes.smallBytes ?? 0;
  }

  /**
   * Reads more bytes into the buffer: how many, or null at the end of input. A read issued
   * ahead is taken over first. Throws {@linkcode BufferFull} when the unconsumed bytes fill
   * `limit` bytes (never a read into no room: it would resolve at once, forever).
   */
  async fill(limit = this.#maxBytes): Promise<number | null> {
    return this.took(await this.startRead(limit));
  }

  /**
   * fill() in two halves, `took(await startRead())`, for loops that wait for one read per
   * event of a slow stream: no async frame of ours stays suspended for each.
   */
  startRead(limit = this.#maxBytes): Promise<number | null> {
    const pending = this.pending;
    if (pending !== undefined) {
      // Move nothing until it has landed: it writes at the `end` it was issued at.
      this.pending = undefined;
      this.#asked = -1;
      return pending;
    }
    this.makeRoom(limit);
    const stop = this.end + MAX_READ_BYTES < this.buf.length
      ? this.end + MAX_READ_BYTES
      : this.buf.length;
    this.#asked = stop - this.end;
    return this.conn.read(this.#readView(stop));
  }

  /**
   * `buf[end..stop)`, the same view as last time when it has not moved: a slow stream reads
   * each event into the same empty buffer, and a new view per read was ~100 bytes of garbage.
   */
  #readView(stop: number): Uint8Array {
    const view = this.#view;
    if (view !== undefined && this.#viewOf === this.buf && view.byteOffset === this.end) {
      if (view.byteLength === stop - this.end) return view;
    }
    this.#viewOf = this.buf;
    return this.#view = this.buf.subarray(this.end, stop);
  }

  /** Counts what {@linkcode startRead}'s read brought in; returns it. */
  took(n: number | null): number | null {
    this.landed();
    if (this.#asked >= 0) {
      this.#full = n === this.#asked;
      this.#smallReads = n !== null && n * 2 <= this.#smallBytes ? this.#smallReads + 1 : 0;
    }
    if (n !== null) this.end += n;
    return n;
  }

  /** Called as a fill()'s read lands, before it counts: a subclass may throw instead. */
  protected landed(): void {}

  /** Issues a read now, into all the free room, kept for the next {@linkcode fill}. */
  readAhead(): Promise<number | null> {
    this.makeRoom();
    const read = this.conn.read(this.buf.subarray(this.end));
    this.pending = read;
    return read;
  }

  /** Drops consumed bytes and grows when needed; throws {@linkcode BufferFull} at `limit`. */
  makeRoom(limit = this.#maxBytes): void {
    let buf = this.buf;
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.#smallReads >= SHRINK_AFTER_READS && buf.length > this.#smallBytes) {
        buf = this.buf = new Uint8Array(this.#smallBytes);
        this.#smallReads = 0;
      }
    } else if (this.start > 0 && buf.length - this.end < MIN_ROOM_BYTES) {
      buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    const noRoom = this.end === buf.length;
    if (!noRoom && !(this.#full && this.end === 0)) return;
    if (buf.length >= limit) {
      if (noRoom) throw new BufferFull(`more than ${limit} bytes of one unfinished part`);
      return;
    }
    const bigger = new Uint8Array(Math.min(buf.length * 2, limit));
    bigger.set(buf.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.buf = bigger;
    this.#full = false;
  }
}
