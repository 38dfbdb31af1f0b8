/**
 * The contract between the handler and whatever sends requests upstream. Routing and policy
 * decide *what* to send; an {@linkcode UpstreamClient} only sends it and streams the answer.
 *
 * @module
 */
import type { UpstreamName } from "../errors.ts";
import type { ProxyResult } from "./message.ts";

/** A request ready to go upstream: headers already filtered and set. */
export interface UpstreamRequest {
  readonly url: URL;
  readonly method: string;
  /** Final headers, including `host`. */
  readonly headers: Headers;
  /** Streamed as it arrives; null for no body. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
  /** Which upstream this is, for error messages. */
  readonly upstream: UpstreamName;
  /** Time allowed until the response head arrives. */
  readonly timeoutMs: number;
  /**
   * A protocol to switch to (`websocket`): sent as `Upgrade` with `Connection: upgrade`; a
   * 101 answer then hands over the connection as the response's `upgraded`.
   */
  readonly upgrade?: string;
}

/**
 * An upstream's answer: the one response type of this layer ({@linkcode ProxyResult}), so an
 * answer can be returned as it came. A body read whole together with the head (small
 * responses) comes as bytes; a longer one as a stream that errors if the upstream dies
 * mid-way. Headers are as received (hop-by-hop not yet removed); after a 101 to a request
 * with `upgrade`, `upgraded` holds the connection, no longer pooled.
 */
export type UpstreamResponse = ProxyResult;

/** Sends a request upstream; rejects with an `UpstreamError` (502/504) on failure. */
export type UpstreamClient = (request: UpstreamRequest) => Promise<UpstreamResponse>;
