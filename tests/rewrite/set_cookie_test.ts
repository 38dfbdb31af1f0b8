import { rewriteSetCookie } from "../../src/rewrite/set_cookie.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("rewriteSetCookie()", async (t) => {
  await t.step("removes Domain, drops Secure and turns SameSite=None into Lax on http", () => {
    assertEquals(
      rewriteSetCookie(
        "ory_session_x=abc; Path=/; Domain=x.projects.oryapis.com; Secure; HttpOnly; SameSite=None",
        { secure: false },
      ),
      "ory_session_x=abc; Path=/; HttpOnly; SameSite=Lax",
    );
  });
  await t.step("sets the configured cookie domain", () => {
    assertEquals(
      rewriteSetCookie("a=1; Domain=.oryapis.com; Path=/", { secure: true, domain: "example.org" }),
      "a=1; Path=/; Domain=example.org; Secure",
    );
  });
  await t.step("keeps SameSite=None and adds Secure on https", () => {
    assertEquals(
      rewriteSetCookie("a=1; SameSite=None", { secure: true }),
      "a=1; SameSite=None; Secure",
    );
  });
  await t.step("keeps Secure once on https", () => {
    assertEquals(rewriteSetCookie("a=1; Secure; secure", { secure: true }), "a=1; Secure");
  });
  await t.step("keeps attributes it does not know, and the value untouched", () => {
    assertEquals(
      rewriteSetCookie("a=x=y; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Priority=High", {
        secure: false,
      }),
      "a=x=y; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Priority=High",
    );
  });
  await t.step("drops Partitioned on http (it requires Secure)", () => {
    assertEquals(rewriteSetCookie("a=1; Secure; Partitioned", { secure: false }), "a=1");
  });
});
