/**
 * The contract between the handler and whatever sends requests upstream. Routing and policy
 * decide *what* to send; an {@linkcode UpstreamClient} only sends it and streams the answer.
 *
 * @module
 */
import type { UpstreamName } from "../errors.ts";

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
}

/** An upstream's answer. The body is a stream that errors if the upstream dies mid-way. */
export interface UpstreamResponse {
  readonly status: number;
  readonly statusText: string;
  /** Headers as received (hop-by-hop not yet removed). */
  readonly headers: Headers;
  readonly body: ReadableStream<Uint8Array> | null;
}

/** Sends a request upstream; rejects with an `UpstreamError` (502/504) on failure. */
export type UpstreamClient = (request: UpstreamRequest) => Promise<UpstreamResponse>;
