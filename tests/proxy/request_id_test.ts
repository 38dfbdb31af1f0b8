import { requestIdOf } from "../../src/proxy/request_id.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

Deno.test("requestIdOf(): 1–128 visible ASCII characters are kept, else a UUID", () => {
  for (const kept of ["a", "abc-123_~!", "x".repeat(128)]) {
    assertEquals(requestIdOf(new Headers({ "x-request-id": kept })), kept);
  }
  for (const made of [undefined, "x".repeat(129), "a b", "a\tb", "é"]) {
    const headers = new Headers();
    try {
      if (made !== undefined) headers.set("x-request-id", made);
    } catch {
      continue; // not even a header value
    }
    assertMatch(requestIdOf(headers), /^[0-9a-f-]{36}$/);
  }
});
