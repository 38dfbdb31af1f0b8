import { removeHopByHop } from "../../src/proxy/hop_by_hop.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("removeHopByHop()", async (t) => {
  await t.step("drops the RFC 9110 list and the names Connection lists", () => {
    const h = new Headers({
      connection: "keep-alive, X-Secret, bad name",
      "keep-alive": "timeout=5",
      te: "trailers",
      "transfer-encoding": "chunked",
      upgrade: "h2c",
      "proxy-authorization": "Basic x",
      "x-secret": "1",
      "content-type": "text/plain",
    });
    removeHopByHop(h);
    assertEquals([...h.keys()], ["content-type"]);
  });
  await t.step("leaves end-to-end headers alone", () => {
    const h = new Headers({ "content-length": "3", etag: '"a"' });
    removeHopByHop(h);
    assertEquals([...h.keys()], ["content-length", "etag"]);
  });
});
