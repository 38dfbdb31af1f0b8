/**
 * A joined WebSocket tunnel that can be ended when its session ends. The server relays the
 * tunnel's bytes untouched (`http1/server_connection.ts`); this wrapper stands in for the
 * upstream connection there and follows both directions' frame boundaries
 * (`websocket_frames.ts`), so that {@linkcode SessionTunnel.end} can:
 *
 * 1. stop passing the client's bytes on, and send the upstream a close frame (1008) when the
 *    client's stream is between frames;
 * 2. let the upstream's frame in flight finish, then hand the client a close frame (1008,
 *    "session ended") in place of anything more from the upstream, and close the upstream;
 * 3. wait for the client's answering close frame (RFC 6455 §7.1.1: the server closes the TCP
 *    connection first, once both close frames have gone by), then end the tunnel.
 *
 * Steps 2 and 3 each wait at most `graceMs` (1 s): an upstream stuck in the middle of a
 * frame, or a client that never answers, has its connection closed without more ceremony.
 *
 * @example
 * ```ts ignore
 * const tunnel = new SessionTunnel(result.upgraded);
 * tunnel.onClosed = registry.follow(session, () => tunnel.end());
 * return { ...result, upgraded: tunnel.upgraded };
 * ```
 *
 * @module
 */
import type { TunnelConn, UpgradedConnection } from "../http1/message.ts";
import { closeFrame, FrameBoundaries } from "./websocket_frames.ts";

/** The close code the client (and the upstream) get: 1008, policy violation (RFC 6455 §7.4.1). */
export const SESSION_ENDED_CODE = 1008;
/** The close frame's reason text. */
export const SESSION_ENDED_REASON = "session ended";

/** How long each closing step may wait, by default. */
const GRACE_MS = 1000;

/**
 * `open`: relaying. `ending`: the session ended, the upstream's current frame is finishing.
 * `closing`: the client has its close frame; waiting for its answer. `closed`: over.
 */
type State = "open" | "ending" | "closing" | "closed";

const WOKEN: unique symbol = Symbol("woken");

/** The upstream side of a joined tunnel, ended with its session. */
export class SessionTunnel implements TunnelConn {
  /** Called once when the tunnel is over, however it ended (to stop following it). */
  onClosed: () => void = () => {};
  readonly #inner: TunnelConn;
  readonly #leftover: Uint8Array;
  readonly #graceMs: number;
  /** The upstream's frames (relayed to the client) and the client's (sent upstream). */
  readonly #fromUpstream = new FrameBoundaries();
  readonly #fromClient = new FrameBoundaries();
  #state: State = "open";
  /**
   * Wakes the read waiting for a change of state. A fresh promise per wait: racing every read
   * against one long-lived promise would leave a reaction on it per read, for the tunnel's life.
   */
  #wake: (() => void) | undefined;
  /** A read of the upstream into the server's buffer, still in flight. */
  #reading: Promise<number | null> | undefined;
  /** A write of the client's bytes to the upstream, with its bookkeeping, in flight. */
  #writing: Promise<unknown> | undefined;
  /** The close frame on its way to the upstream (see {@linkcode end}). */
  #upstreamTold: Promise<void> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #innerClosed = false;

  constructor(upgraded: UpgradedConnection, options: { readonly graceMs?: number } = {}) {
    this.#inner = upgraded.conn;
    this.#leftover = upgraded.leftover;
    this.#graceMs = options.graceMs ?? GRACE_MS;
    // The server writes these to the client itself, before it reads through this wrapper.
    this.#fromUpstream.feed(upgraded.leftover);
  }

  /** What the server joins with the client: this wrapper, and the upstream's early bytes. */
  get upgraded(): UpgradedConnection {
    return { conn: this, leftover: this.#leftover };
  }

  /** The session ended: close the tunnel as described above. Idempotent. */
  end(): void {
    if (this.#state !== "open") return;
    this.#setState("ending");
    this.#arm(() => this.close());
    this.#upstreamTold = this.#tellUpstream();
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      const state = this.#state;
      if (state === "closed") return null;
      if (state === "closing") {
        await this.#changed();
        continue;
      }
      if (state === "ending" && this.#fromUpstream.atBoundary) return await this.#sendClose(p);
      const reading = this.#reading ??= this.#inner.read(p);
      let n: number | null | typeof WOKEN;
      try {
        n = await Promise.race([reading, this.#changed()]);
      } catch (err) {
        this.#reading = undefined;
        if (this.#state === "closed") return null; // the read was cut by closing
        throw err;
      }
      if (n === WOKEN) continue;
      this.#reading = undefined;
      if (n === null) {
        // The upstream closed. Between frames after the session ended, the client still
        // gets its close frame; otherwise the tunnel ends as it would have.
        if (this.#state === "ending" && this.#fromUpstream.atBoundary) {
          return await this.#sendClose(p);
        }
        this.close();
        return null;
      }
      if (this.#state === "ending") {
        // Only the rest of the frame in flight; whatever follows it is dropped.
        return this.#fromUpstream.feed(p.subarray(0, n), true);
      }
      this.#fromUpstream.feed(p.subarray(0, n));
      return n;
    }
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#state !== "open") {
      // After the session ended nothing more reaches the upstream; the bytes are only
      // followed, to see the client's answering close frame.
      this.#fromClient.feed(p);
      if (this.#state === "closing" && this.#fromClient.closeSeen) this.close();
      return Promise.resolve(p.byteLength);
    }
    const writing = this.#inner.write(p).then((n) => {
      this.#fromClient.feed(p.subarray(0, n));
      return n;
    });
    this.#writing = writing;
    return writing.finally(() => {
      if (this.#writing === writing) this.#writing = undefined;
    });
  }

  /** Ends the tunnel now (the server calls this when either side went away). */
  close(): void {
    if (this.#state === "closed") return;
    this.#setState("closed");
    clearTimeout(this.#timer);
    this.#closeInner();
    this.onClosed();
  }

  /** Hands the client its close frame in the server's buffer `p`; the upstream is closed. */
  async #sendClose(p: Uint8Array): Promise<number | null> {
    this.#setState("closing");
    this.#fromClient.resetClose();
    // Closing the upstream with the close frame still being written would cut it off.
    await this.#upstreamTold;
    this.#closeInner();
    // The read in flight was into `p`: it must be over before `p` holds the frame.
    if (this.#reading !== undefined) {
      await this.#reading.catch(() => null);
      this.#reading = undefined;
    }
    const frame = closeFrame(SESSION_ENDED_CODE, SESSION_ENDED_REASON);
    if (this.#state !== "closing" || p.byteLength < frame.byteLength) {
      this.close();
      return null;
    }
    p.set(frame);
    this.#arm(() => this.close());
    return frame.byteLength;
  }

  /** Tells the upstream the session ended, when the client's stream is between frames. */
  async #tellUpstream(): Promise<void> {
    await this.#writing?.catch(() => {});
    if (this.#innerClosed || !this.#fromClient.atBoundary) return;
    const frame = closeFrame(SESSION_ENDED_CODE, SESSION_ENDED_REASON, true);
    try {
      let off = 0;
      while (off < frame.byteLength && !this.#innerClosed) {
        off += await this.#inner.write(frame.subarray(off));
      }
    } catch {
      // the upstream is gone already
    }
  }

  #closeInner(): void {
    if (this.#innerClosed) return;
    this.#innerClosed = true;
    try {
      this.#inner.close();
    } catch {
      // already closed
    }
  }

  #setState(state: State): void {
    this.#state = state;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Resolves to {@linkcode WOKEN} at the next change of state. */
  #changed(): Promise<typeof WOKEN> {
    return new Promise((resolve) => this.#wake = () => resolve(WOKEN));
  }

  #arm(then: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(then, this.#graceMs);
  }
}
