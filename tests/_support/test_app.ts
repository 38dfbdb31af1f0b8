/** A local application for integration tests: echoes, redirects, streams, WebSockets. */
import { gzipSync } from "node:zlib";
import { compressed as z } from "./compress.ts";

/** A running test app. */
export interface TestApp {
  readonly port: number;
  readonly origin: string;
  /** Bytes the last upload delivered, and whether it ended cleanly. */
  readonly uploads: { bytes: number; complete: boolean }[];
  /** Every request path the app received. */
  readonly seen: string[];
  /** The close code and reason of every WebSocket of `/ws` that closed, in order. */
  readonly wsCloses: { code: number; reason: string }[];
  close(): Promise<void>;
}

const CHUNK = new Uint8Array(64 * 1024).map((_, i) => i % 251);

/** Starts the test app on a free loopback port. */
export function startTestApp(): TestApp {
  const uploads: { bytes: number; complete: boolean }[] = [];
  const seen: string[] = [];
  const wsCloses: { code: number; reason: string }[] = [];
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const origin: string = `http://127.0.0.1:${server.addr.port}`;
    seen.push(url.pathname);
    switch (url.pathname) {
      case "/die": {
        // Promises 1 MiB, sends 64 KiB, then ends: the server cuts the connection mid-body, as
        // when an app crashes. (Erroring the stream instead cuts it the same way, but Deno.serve
        // prints the error's stack, which reads like a failure in a passing run.)
        let sent = false;
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(c) {
              if (sent) return c.close();
              sent = true;
              c.enqueue(CHUNK);
            },
          }),
          { headers: { "content-length": String(1024 * 1024) } },
        );
      }
      case "/redirect":
        return new Response(null, {
          status: 302,
          headers: { location: url.searchParams.get("to")! },
        });
      case "/self-redirect":
        return new Response(null, { status: 302, headers: { location: `${origin}/landed?x=1` } });
      case "/cookie":
        return new Response("ok", {
          headers: { "set-cookie": "app=1; Domain=127.0.0.1; Path=/; Secure; SameSite=None" },
        });
      case "/cors":
        return new Response("ok", {
          headers: {
            "access-control-allow-origin": "*",
            "access-control-allow-credentials": "false",
            "access-control-expose-headers": "X-App",
            "x-app": "1",
          },
        });
      case "/gzip":
        return new Response(z(gzipSync, JSON.stringify({ link: `${origin}/x` })), {
          headers: { "content-type": "application/json", "content-encoding": "gzip" },
        });
      case "/download": {
        const total = Number(url.searchParams.get("bytes") ?? "0");
        let sent = 0;
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(c) {
              if (sent >= total) return c.close();
              const n = Math.min(CHUNK.byteLength, total - sent);
              c.enqueue(CHUNK.slice(0, n));
              sent += n;
            },
          }, { highWaterMark: 0 }),
          {
            headers: {
              "content-length": String(total),
              "content-type": "application/octet-stream",
            },
          },
        );
      }
      case "/upload": {
        const record = { bytes: 0, complete: false };
        uploads.push(record);
        try {
          for await (const chunk of req.body!) record.bytes += chunk.byteLength;
          record.complete = true;
        } catch {
          return new Response("broken", { status: 400 });
        }
        return Response.json(record);
      }
      case "/sse": {
        const events = Number(url.searchParams.get("events") ?? "3");
        const interval = Number(url.searchParams.get("interval") ?? "200");
        let i = 0;
        let timer: ReturnType<typeof setTimeout> | undefined;
        return new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              const tick = () => {
                c.enqueue(
                  new TextEncoder().encode(`data: ${JSON.stringify({ i, at: Date.now() })}\n\n`),
                );
                if (++i >= events) c.close();
                else timer = setTimeout(tick, interval);
              };
              tick();
            },
            cancel() {
              clearTimeout(timer);
            },
          }),
          { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } },
        );
      }
      case "/ws": {
        const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) =>
          s.trim()
        );
        // Headers cannot be read once the request is upgraded.
        const cookie = req.headers.get("cookie") ?? "";
        const { socket, response } = Deno.upgradeWebSocket(req, {
          protocol: offered.includes("echo") ? "echo" : undefined,
        });
        socket.onmessage = (e) => socket.send(e.data === "cookie?" ? `cookie:${cookie}` : e.data);
        socket.onclose = (e) => wsCloses.push({ code: e.code, reason: e.reason });
        return response;
      }
      case "/hsts":
        return new Response("ok", {
          headers: { "strict-transport-security": "max-age=63072000; includeSubDomains" },
        });
      case "/trace":
        // Answers with trace context of its own, for the pass-through test.
        return new Response("traced", {
          headers: {
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            tracestate: "app=answer",
          },
        });
      case "/slow":
        await new Promise((r) => setTimeout(r, Number(url.searchParams.get("ms") ?? "1000")));
        return new Response("slow");
      default:
        return Response.json({
          method: req.method,
          path: url.pathname,
          search: url.search,
          headers: Object.fromEntries(req.headers),
          body: req.body ? await req.text() : null,
        });
    }
  });
  return {
    port: server.addr.port,
    origin: `http://127.0.0.1:${server.addr.port}`,
    uploads,
    seen,
    wsCloses,
    close: () => server.shutdown(),
  };
}
