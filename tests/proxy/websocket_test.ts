import { bridgeWebSocket, isWebSocketUpgrade } from "../../src/proxy/websocket.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("isWebSocketUpgrade() needs Upgrade listed in Connection (RFC 9110 §7.8)", () => {
  const cases: [Record<string, string>, boolean][] = [
    [{ upgrade: "websocket", connection: "Upgrade" }, true],
    [{ upgrade: "WebSocket", connection: "keep-alive, upgrade" }, true],
    [{ upgrade: "websocket", connection: "upgrade ,close" }, true],
    [{ upgrade: "websocket" }, false],
    [{ upgrade: "websocket", connection: "keep-alive" }, false],
    [{ upgrade: "websocket", connection: "upgrades" }, false],
    [{ upgrade: "h2c", connection: "upgrade" }, false],
    [{ connection: "upgrade" }, false],
  ];
  for (const [headers, expected] of cases) {
    assertEquals(
      isWebSocketUpgrade({ headers: new Headers(headers) }),
      expected,
      JSON.stringify(headers),
    );
  }
});

Deno.test("bridgeWebSocket(): a followed socket ends with its session, 1008 to the client", async () => {
  const app = startTestApp();
  const ends: (() => void)[] = [];
  let unfollowed = 0;
  // Deno.serve, as an embedding program runs the engine: sockets are bridged, not joined.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) =>
      bridgeWebSocket(req, {
        url: new URL(`${app.origin}/ws`),
        headers: new Headers(),
        timeoutMs: 5000,
        follow: (end) => {
          ends.push(end);
          return () => void unfollowed++;
        },
      }),
  );
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/ws`);
    const closed = new Promise<CloseEvent>((r) => ws.onclose = r);
    await new Promise((r) => ws.onopen = r);
    const echoed = new Promise<string>((r) => ws.onmessage = (e) => r(e.data));
    ws.send("hello");
    assertEquals(await echoed, "hello");
    assertEquals(ends.length, 1);
    ends[0]();
    const event = await closed;
    assertEquals([event.code, event.reason], [1008, "session ended"]);
    // The app's socket was closed too (a client socket may only send 1000 or 3000–4999).
    while (app.wsCloses.length === 0) await new Promise((r) => setTimeout(r, 10));
    assertEquals(app.wsCloses[0], { code: 1000, reason: "session ended" });
    // Once the proxy's side has closed as well, the socket is no longer followed.
    while (unfollowed === 0) await new Promise((r) => setTimeout(r, 10));
    assertEquals(unfollowed, 1);
  } finally {
    await server.shutdown();
    await app.close();
  }
});
