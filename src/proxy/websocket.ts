/**
 * WebSocket pass-through: the client's upgrade is accepted only after the upstream
 * accepted its own, with the sub-protocol the upstream chose; then messages and closes flow
 * both ways. Dev servers' hot reload depends on this.
 *
 * @example
 * ```ts ignore
 * import { bridgeWebSocket } from "./websocket.ts";
 * Deno.serve((req) => bridgeWebSocket(req, { url: new URL("ws://127.0.0.1:3000/ws"), headers: new Headers(), timeoutMs: 5000 }));
 * ```
 */
import { UpstreamError, type UpstreamName } from "../errors.ts";

/** Where and how to open the upstream socket. */
export interface WebSocketTarget {
  /** ws:// or wss:// (http(s) is converted). */
  readonly url: URL;
  /** Handshake headers for the upstream (cookies, Authorization, X-Forwarded-*). */
  readonly headers: Headers;
  readonly timeoutMs: number;
  readonly upstream?: UpstreamName;
  /**
   * Follows the session the socket was opened with: `end` closes it (1008 to the client);
   * the function returned is called once the socket is closed.
   */
  readonly follow?: (end: () => void) => () => void;
}

const HANDSHAKE_HEADERS = [
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "content-length",
];

/** Whether `req` asks for a WebSocket upgrade. */
export function isWebSocketUpgrade(req: { readonly headers: Headers }): boolean {
  // RFC 9110 §7.8: an Upgrade not listed in Connection is no upgrade request.
  return req.headers.get("upgrade")?.toLowerCase() === "websocket" &&
    /(?:^|,)\s*upgrade\s*(?:,|$)/i.test(req.headers.get("connection") ?? "");
}

/** Opens the upstream socket, then upgrades the client and joins the two. */
export async function bridgeWebSocket(req: Request, target: WebSocketTarget): Promise<Response> {
  const url = new URL(target.url);
  url.protocol = url.protocol === "https:" || url.protocol === "wss:" ? "wss:" : "ws:";
  const headers = new Headers(target.headers);
  for (const name of HANDSHAKE_HEADERS) headers.delete(name);
  const protocols = (req.headers.get("sec-websocket-protocol") ?? "").split(",")
    .map((p) => p.trim()).filter((p) => p);
  const upstreamName = target.upstream ?? "application";

  const upstream = new WebSocket(url, { protocols, headers });
  upstream.binaryType = "arraybuffer";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      upstream.close();
      reject(
        new UpstreamError(
          "ERR_UPSTREAM_TIMEOUT",
          upstreamName,
          `the ${upstreamName} at ${url.origin} did not accept the WebSocket within ${
            target.timeoutMs / 1000
          }s`,
        ),
      );
    }, target.timeoutMs);
    upstream.onopen = () => {
      clearTimeout(timer);
      resolve();
    };
    upstream.onerror = (e) => {
      clearTimeout(timer);
      reject(
        new UpstreamError(
          "ERR_UPSTREAM_UNREACHABLE",
          upstreamName,
          `the ${upstreamName} at ${url.origin} refused the WebSocket (${
            (e as ErrorEvent).message ?? "handshake failed"
          })`,
        ),
      );
    };
  });

  const { socket, response } = Deno.upgradeWebSocket(req, {
    protocol: upstream.protocol || undefined,
  });
  socket.binaryType = "arraybuffer";
  const pending: (string | ArrayBuffer)[] = [];
  upstream.onmessage = (e) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(e.data);
    else pending.push(e.data);
  };
  let ended = false;
  socket.onopen = () => {
    if (ended) return socket.close(1008, "session ended");
    for (const data of pending.splice(0)) socket.send(data);
  };
  socket.onmessage = (e) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(e.data);
  };
  upstream.onclose = (e) => closeWith(socket, e);
  upstream.onerror = () => closeWith(socket, undefined);
  socket.onclose = (e) => {
    closeWith(upstream, e);
    unfollow?.();
  };
  socket.onerror = () => {
    closeWith(upstream, undefined);
    unfollow?.();
  };
  const unfollow = target.follow?.(() => {
    ended = true;
    // A server socket may send 1008; a client socket only 1000 or 3000–4999.
    if (socket.readyState === WebSocket.OPEN) socket.close(1008, "session ended");
    if (upstream.readyState === WebSocket.OPEN) upstream.close(1000, "session ended");
  });
  return response;
}

function closeWith(ws: WebSocket, event: CloseEvent | undefined): void {
  if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
  const code = event?.code;
  // 1005/1006/1015 are reserved for reporting and may not be sent in a close frame.
  if (code !== undefined && (code === 1000 || (code >= 3000 && code <= 4999))) {
    ws.close(code, event?.reason);
  } else {
    ws.close(1000);
  }
}
