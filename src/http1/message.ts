/**
 * The engine's own request and answer shapes, lighter than the web's `Request`/`Response`.
 *
 * A web `Request` is already a {@linkcode ProxyRequest} (the fields are a subset of its own),
 * so `Deno.serve` and embedding programs pass theirs straight in. orygate's HTTP/1.1 server
 * (`http1/server.ts`) builds plain objects instead: constructing a `Request` and a
 * `Response` for every proxied request cost more than the rest of the proxying together.
 * A {@linkcode ProxyResult} carries a small body as bytes, so it can go onto the socket with
 * its head in one write.
 *
 * @example
 * ```ts
 * import { fromResponse, toResponse } from "./message.ts";
 * const result = fromResponse(new Response("hi", { status: 201 }));
 * const res = toResponse(result);
 * console.log(res.status, await res.text()); // 201 "hi"
 * ```
 *
 * @module
 */

/** What the engine needs of a request. A web `Request` is one. */
export interface ProxyRequest {
  readonly method: string;
  /** The absolute URL, as `Request.url`. */
  readonly url: string;
  readonly headers: Headers;
  /** Streamed as it arrives; null when the request has no body. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/**
 * What the server needs of a tunnel's upstream side: its bytes, a way to send, a close. The
 * engine may hand over a wrapper (one that ends the tunnel with its session) instead of the
 * socket itself.
 */
export type TunnelConn = Pick<Deno.Conn, "read" | "write" | "close">;

/** An upgraded upstream connection (after `101 Switching Protocols`), to join with the client's. */
export interface UpgradedConnection {
  readonly conn: TunnelConn;
  /** Bytes the upstream sent after its 101 head, read along with it. */
  readonly leftover: Uint8Array;
}

/** The engine's answer. */
export interface ProxyResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** Bytes when the whole body is known, a stream when it is still arriving. */
  readonly body: Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> | null;
  /** With status 101 from a raw-socket server: the upstream side of the tunnel. */
  readonly upgraded?: UpgradedConnection;
  /**
   * Called once when the answer is out: with the body bytes written to the client, and the
   * error that cut it short (a failed stream, a client gone). The server that writes the
   * answer calls it; set by whoever wants to know (the engine, for its access line).
   */
  onFinished?: (bytesOut: number, error?: unknown) => void;
}

/** Converts a web `Response` (built-in routes, CORS preflights, denials). */
export function fromResponse(res: Response): ProxyResult {
  return { status: res.status, statusText: res.statusText, headers: res.headers, body: res.body };
}

/** Converts a result into a web `Response` (for `Deno.serve` and embedding programs). */
export function toResponse(result: ProxyResult): Response {
  if (result.upgraded !== undefined) {
    // Only raw-socket servers ask for upgrades this way; nothing can carry the socket here.
    result.upgraded.conn.close();
    return new Response("orygate: the upgrade cannot be served here\n", { status: 502 });
  }
  const body = result.body;
  return new Response(body as BodyInit | null, {
    status: result.status,
    statusText: result.statusText,
    headers: result.headers,
  });
}

/** A plain-text answer from the proxy itself. */
export function textResult(status: number, body: string, headers: HeadersInit = {}): ProxyResult {
  const h = new Headers(headers);
  h.set("content-type", "text/plain; charset=utf-8");
  h.set("cache-control", "no-store");
  return { status, statusText: "", headers: h, body: new TextEncoder().encode(body) };
}

/** Connection facts from the server (`Deno.serve` hands its handlers the first one). */
export interface ClientInfo {
  readonly remoteAddr?: { readonly hostname?: string };
  /**
   * The server can join an upgraded upstream connection with the client's socket: WebSocket
   * upgrades are then passed through as bytes (a {@linkcode ProxyResult} with `upgraded`).
   * Without it they are bridged message by message with `Deno.upgradeWebSocket`.
   */
  readonly joinsUpgrades?: boolean;
}
