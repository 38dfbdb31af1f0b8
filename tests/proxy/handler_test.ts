import { parseConfig } from "../../src/config/parse.ts";
import { createProxyEngine } from "../../src/proxy/handler.ts";
import type { UpstreamRequest } from "../../src/http1/upstream.ts";
import { assert } from "../_support/assert.ts";

Deno.test("engine: an Upgrade request with a body goes upstream as a plain request", async () => {
  const seen: UpstreamRequest[] = [];
  const engine = createProxyEngine(
    parseConfig({
      command: "proxy",
      appUrl: "http://127.0.0.1:3000",
      options: { sdkUrl: "http://127.0.0.1:4433", quiet: true, jwt: false },
      env: {},
    }),
    {
      client: (req) => {
        seen.push(req);
        return Promise.resolve({
          status: 200,
          statusText: "OK",
          headers: new Headers(),
          body: null,
        });
      },
    },
  );
  const headers = { upgrade: "websocket", connection: "upgrade", "content-type": "text/plain" };
  const info = { joinsUpgrades: true };
  const withBody = await engine(
    new Request("http://localhost:4000/ws", { method: "POST", headers, body: "GET /admin" }),
    info,
  );
  const without = await engine(new Request("http://localhost:4000/ws", { headers }), info);
  assert.equal(withBody.status, 200);
  assert.equal(seen[0].upgrade, undefined, "no tunnel for a request with a body");
  assert.equal(seen[0].headers.get("upgrade"), null);
  assert.equal(seen[1].upgrade, "websocket");
  assert.equal(without.status, 200);
  engine.close();
});
