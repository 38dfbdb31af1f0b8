import { buildUpstreamHeaders } from "../../src/proxy/upstream_headers.ts";
import { assertEquals } from "../_support/assert.ts";

const publishUrl = new URL("https://app.example.org");

Deno.test("buildUpstreamHeaders()", async (t) => {
  const req = new Request("http://localhost:4000/x", {
    headers: {
      host: "evil.example",
      connection: "keep-alive, x-hop",
      "x-hop": "1",
      te: "trailers",
      "ory-base-url-rewrite": "https://evil.example",
      "ory-base-url-rewrite-token": "stolen",
      "x-forwarded-host": "evil.example",
      "x-forwarded-proto": "gopher",
      "x-forwarded-for": "10.0.0.1",
      forwarded: "for=6.6.6.6;host=evil.example;proto=https",
      "x-real-ip": "6.6.6.6",
      "x-forwarded-port": "1",
      "x-forwarded-prefix": "/evil",
      "true-client-ip": "6.6.6.6",
      cookie: "a=1",
      accept: "text/html",
    },
  });
  const h = buildUpstreamHeaders(req, {
    host: "127.0.0.1:3000",
    clientIp: "127.0.0.1",
    publishUrl,
  });
  await t.step("keeps end-to-end headers", () => {
    assertEquals([h.get("cookie"), h.get("accept")], ["a=1", "text/html"]);
  });
  await t.step("drops hop-by-hop, Connection-listed and Ory control headers", () => {
    for (
      const name of [
        "connection",
        "x-hop",
        "te",
        "ory-base-url-rewrite",
        "ory-base-url-rewrite-token",
      ]
    ) {
      assertEquals(h.has(name), false, name);
    }
  });
  await t.step(
    "sets Host and X-Forwarded-* from the publish URL, appends the client to the chain",
    () => {
      assertEquals(h.get("host"), "127.0.0.1:3000");
      assertEquals(h.get("x-forwarded-host"), "app.example.org");
      assertEquals(h.get("x-forwarded-proto"), "https");
      assertEquals(h.get("x-forwarded-for"), "10.0.0.1, 127.0.0.1");
      assertEquals(h.get("x-forwarded-port"), "443");
    },
  );
  await t.step("drops the client's Forwarded, X-Forwarded-Prefix, True-Client-IP", () => {
    for (const name of ["forwarded", "x-forwarded-prefix", "true-client-ip"]) {
      assertEquals(h.has(name), false, name);
    }
  });
  await t.step("X-Real-IP is the TCP peer, never the client's copy", () => {
    assertEquals(h.get("x-real-ip"), "127.0.0.1");
    const none = buildUpstreamHeaders(new Request("http://x/", { headers: { "x-real-ip": "1" } }), {
      host: "h",
      publishUrl,
    });
    assertEquals(none.has("x-real-ip"), false);
  });
  await t.step("without a prior chain X-Forwarded-For is the client", () => {
    const plain = buildUpstreamHeaders(new Request("http://localhost:4000/"), {
      host: "h",
      clientIp: "::1",
      publishUrl,
    });
    assertEquals(plain.get("x-forwarded-for"), "::1");
  });
});

Deno.test("buildUpstreamHeaders() never forwards a client's identity headers", () => {
  // Header names are case-insensitive (Headers lower-cases them), repeated ones arrive joined,
  // and a `_` spelling is dropped with every other name holding one.
  const spellings: [string, string][] = [
    ["X-Ory-Identity-Id", "forged"],
    ["x-ory-session-id", "forged"],
    ["X-ORY-IDENTITY-EMAIL", "ceo@example.com"],
    ["x-Ory-aal", "aal2"],
    ["x_ory_identity_id", "forged"],
    ["X-Ory-Identity_Email", "forged"],
  ];
  const headers = new Headers();
  for (const [name, value] of spellings) headers.append(name, value);
  headers.append("x-ory-identity-id", "second copy");
  const h = buildUpstreamHeaders({ headers }, { host: "app", publishUrl });
  assertEquals([...h.keys()].filter((k) => /ory/i.test(k)), []);
});
