import { createCorsPolicy } from "../../src/rewrite/cors.ts";
import { assertEquals } from "../_support/assert.ts";

const base = { anyOrigin: false, additionalHeaders: [], publishOrigin: "http://localhost:4000" };

Deno.test("createCorsPolicy()", async (t) => {
  const cors = createCorsPolicy({
    ...base,
    origins: ["https://*.example.org", "https://app.test"],
  });
  await t.step("allows the publish origin, exact and wildcard origins", () => {
    assertEquals(cors.isAllowed("http://localhost:4000"), true);
    assertEquals(cors.isAllowed("https://app.test"), true);
    assertEquals(cors.isAllowed("https://api.example.org"), true);
  });
  await t.step("refuses other origins and lookalikes", () => {
    assertEquals(cors.isAllowed("https://example.org.evil.com"), false);
    assertEquals(cors.isAllowed("http://api.example.org"), false);
    assertEquals(cors.isAllowed("https://app.test.evil"), false);
    assertEquals(cors.isAllowed("null"), false);
  });
  await t.step("replaces upstream Allow-Origin/-Credentials and keeps Expose-Headers", () => {
    const h = new Headers({
      "access-control-allow-origin": "*",
      "access-control-allow-credentials": "false",
      "access-control-expose-headers": "X-App",
    });
    cors.apply(h, "https://app.test");
    assertEquals(h.get("access-control-allow-origin"), "https://app.test");
    assertEquals(h.get("access-control-allow-credentials"), "true");
    assertEquals(h.get("access-control-expose-headers"), "X-App");
  });
  await t.step("a refused origin gets no Allow-Origin at all", () => {
    const h = new Headers({ "access-control-allow-origin": "*" });
    cors.apply(h, "https://evil.com");
    assertEquals(h.has("access-control-allow-origin"), false);
  });
  await t.step("answers preflights with the requested method and allowed headers", () => {
    const res = cors.preflight(
      new Request("http://localhost:4000/x", {
        method: "OPTIONS",
        headers: {
          origin: "https://app.test",
          "access-control-request-method": "PUT",
          "access-control-request-headers": "content-type, x-custom",
        },
      }),
    );
    assertEquals(res.status, 204);
    assertEquals(res.headers.get("access-control-allow-origin"), "https://app.test");
    assertEquals(res.headers.get("access-control-allow-headers"), "content-type");
  });
  await t.step("--dev reflects any origin and header", () => {
    const dev = createCorsPolicy({ ...base, origins: [], anyOrigin: true });
    assertEquals(dev.isAllowed("https://anything.example"), true);
    const res = dev.preflight(
      new Request("http://localhost:4000/x", {
        method: "OPTIONS",
        headers: {
          origin: "https://a.b",
          "access-control-request-method": "GET",
          "access-control-request-headers": "x-custom",
        },
      }),
    );
    assertEquals(res.headers.get("access-control-allow-headers"), "x-custom");
  });
  await t.step("additional headers are allowed in preflights", () => {
    const extra = createCorsPolicy({ ...base, origins: [], additionalHeaders: ["X-Custom"] });
    const res = extra.preflight(
      new Request("http://localhost:4000/x", {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:4000",
          "access-control-request-method": "GET",
          "access-control-request-headers": "X-Custom",
        },
      }),
    );
    assertEquals(res.headers.get("access-control-allow-headers"), "x-custom");
  });
});
