import { createBodyRewriter, isRewritableType } from "../../src/rewrite/body.ts";
import { assertEquals } from "../_support/assert.ts";

const rewrite = createBodyRewriter([
  { from: "http://127.0.0.1:4433", to: "http://localhost:4000/.ory" },
  { from: "http://127.0.0.1:3000", to: "http://localhost:4000" },
]);

Deno.test("createBodyRewriter()", async (t) => {
  await t.step("rewrites every occurrence in JSON and HTML", () => {
    assertEquals(
      rewrite('{"a":"http://127.0.0.1:4433/x","b":"<a href=\\"http://127.0.0.1:4433\\">"}'),
      '{"a":"http://localhost:4000/.ory/x","b":"<a href=\\"http://localhost:4000/.ory\\">"}',
    );
  });
  await t.step("rewrites JSON-escaped slashes", () => {
    assertEquals(
      rewrite('"http:\\/\\/127.0.0.1:4433\\/x"'),
      '"http:\\/\\/localhost:4000\\/.ory\\/x"',
    );
  });
  await t.step("does not touch lookalikes (longer port, longer host)", () => {
    const text = "http://127.0.0.1:44331/x http://127.0.0.1:4433.evil.net/x";
    assertEquals(rewrite(text), text);
  });
  await t.step("maps the app origin too", () => {
    assertEquals(rewrite("go to http://127.0.0.1:3000/a"), "go to http://localhost:4000/a");
  });
  await t.step("rewriting twice changes nothing more", () => {
    const once = rewrite("http://127.0.0.1:4433/a http://127.0.0.1:3000/b");
    assertEquals(rewrite(once), once);
  });
});

Deno.test("isRewritableType() accepts text types only", () => {
  for (
    const t of [
      "text/html; charset=utf-8",
      "application/json",
      "application/problem+json",
      "text/css",
      "application/javascript",
      "text/javascript",
    ]
  ) {
    assertEquals(isRewritableType(t), true, t);
  }
  for (
    const t of [
      null,
      "image/png",
      "application/octet-stream",
      "text/event-stream",
      "application/jsonx",
    ]
  ) {
    assertEquals(isRewritableType(t), false, String(t));
  }
});
