import { isWebSocketUpgrade } from "../../src/proxy/websocket.ts";
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
