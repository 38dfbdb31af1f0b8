/**
 * An upgraded connection (`101 Switching Protocols`) joined byte for byte: the client's socket
 * and the upstream's, until either side ends or the tunnel idles past its timeout.
 *
 * @module
 */
import type { ProxyResult, TunnelConn, UpgradedConnection } from "./message.ts";
import type { Connection } from "./server_connection.ts";
import { encodeHead, writeAll } from "./syntax.ts";

/** Writes the 101 on `c` and joins it with `upstream` until either side ends. */
export async function joinTunnel(
  c: Connection,
  result: ProxyResult,
  upstream: UpgradedConnection,
): Promise<void> {
  let text = `HTTP/1.1 101 ${result.statusText || "Switching Protocols"}\r\n`;
  result.headers.forEach((value, name) => text += name + ": " + value + "\r\n");
  const up = upstream.conn;
  const hooks = c.server.options.hooks;
  hooks?.tunnelOpened();
  try {
    await writeAll(c.conn, encodeHead(text + "\r\n"));
    if (upstream.leftover.byteLength > 0) await writeAll(c.conn, upstream.leftover);
    // Upstream to client flows at once (the server may speak first). Client to upstream:
    // first what the client sent after its upgrade request (buffered, or a read kept
    // pending), then the rest.
    // Idle tunnels end: every byte either way moves the deadline the sweep checks.
    const idleMs = c.server.tunnelIdleTimeoutMs;
    const active = idleMs > 0 ? () => c.deadline = Date.now() + idleMs : undefined;
    active?.();
    const toClient = relay(up, c.conn, active);
    const toUpstream = (async () => {
      const pending = c.pending;
      c.pending = undefined;
      if (pending !== undefined) {
        const n = await pending;
        if (n === null) return;
        c.end += n;
      }
      if (c.end > c.start) await writeAll(up, c.buf.slice(c.start, c.end));
      c.start = c.end = 0;
      await relay(c.conn, up, active);
    })();
    await Promise.race([toClient, toUpstream]);
  } catch {
    // either side went away
  } finally {
    hooks?.tunnelClosed();
    try {
      up.close();
    } catch {
      // already closed
    }
    c.close();
  }
}

/** Copies one direction of an upgraded connection until its end; `active` sees each read. */
async function relay(from: TunnelConn, to: TunnelConn, active?: () => void): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await from.read(buf);
    if (n === null) return;
    active?.();
    await writeAll(to, buf.subarray(0, n));
  }
}
