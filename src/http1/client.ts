/**
 * An {@linkcode UpstreamClient} that speaks HTTP/1.1 itself over `Deno.connect` (and
 * `Deno.startTls` for https upstreams), with a keep-alive pool per origin.
 *
 * Why not `fetch`: it decompresses bodies while keeping `Content-Encoding`, and ignores a
 * `Host` header. Why not `node:http`: it is slower here and frees its Buffers late, so a large
 * download inflates memory. This client passes bytes through untouched, frames strictly
 * (RFC 9112: a malformed answer is a 502, never guessed at), streams bodies both ways with
 * backpressure, and keeps the hot path lean: the request head is built as one string and
 * encoded into a per-connection buffer for a single write, each connection reads into one
 * reused buffer, a body that arrived whole with its head is handed over as bytes (no stream),
 * and timeouts share one coarse timer instead of one timer a request.
 *
 * A request with `upgrade` (WebSocket) is sent with `Connection: upgrade`; a 101 answer hands
 * the connection to the caller, who joins it with the client's.
 *
 * A connection goes back to its pool only after the whole response was read and both sides
 * allow reuse. While idle it keeps a read pending, so an upstream closing it is noticed at
 * once; a request that still meets a closed connection (before any response byte, with no
 * body sent yet) is retried once on a fresh one.
 *
 * @example
 * ```ts
 * import { createH1Client } from "./client.ts";
 * const server = Deno.serve({ port: 0, onListen() {} }, () => new Response("hi"));
 * const client = createH1Client();
 * const res = await client({
 *   url: new URL(`http://127.0.0.1:${server.addr.port}/`),
 *   method: "GET",
 *   headers: new Headers({ host: "example.test" }),
 *   body: null,
 *   signal: new AbortController().signal,
 *   upstream: "application",
 *   timeoutMs: 5000,
 * });
 * console.log(res.status, await new Response(res.body as BodyInit).text()); // 200 "hi"
 * client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
import { ClientState } from "./client_pool.ts";
import { Exchange } from "./exchange.ts";
import type { UpstreamClient, UpstreamRequest } from "./upstream.ts";

/** Pool and TLS settings for {@linkcode createH1Client}. */
export interface H1ClientOptions {
  /** Most idle connections kept per origin (default 128). */
  readonly maxIdlePerOrigin?: number;
  /** How long an idle connection is kept, in milliseconds (default 30 000). */
  readonly idleTimeoutMs?: number;
  /** Extra PEM certificates trusted for https upstreams (default: the system's roots). */
  readonly caCerts?: readonly string[];
}

/** An {@linkcode UpstreamClient} that can close its idle connections (shutdown, tests). */
export interface H1Client extends UpstreamClient {
  /** Closes idle connections now; busy ones close when their exchange ends. */
  close(): void;
}

/**
 * Creates a pooled HTTP/1.1 upstream client.
 *
 * @example
 * ```ts
 * import { createH1Client } from "./client.ts";
 * const client = createH1Client({ maxIdlePerOrigin: 32, idleTimeoutMs: 10_000 });
 * client.close();
 * ```
 */
export function createH1Client(options: H1ClientOptions = {}): H1Client {
  const state = new ClientState(options);
  const client = ((request: UpstreamRequest) => new Exchange(state, request).promise) as H1Client;
  client.close = () => state.close();
  return client;
}
