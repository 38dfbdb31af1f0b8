import { ConfigError } from "../../src/errors.ts";
import fc from "fast-check";
import { compileProtection, normalisePath } from "../../src/session/protect.ts";
import { assertEquals, assertThrows } from "../_support/assert.ts";

Deno.test("compileProtection()", async (t) => {
  await t.step("a prefix protects itself and below, not lookalikes", () => {
    const p = compileProtection(["/members"]);
    for (const path of ["/members", "/members/", "/members/42", "/Members/x", "/MEMBERS"]) {
      assertEquals(p(path), true, path);
    }
    for (const path of ["/membership", "/", "/public/members", "/member"]) {
      assertEquals(p(path), false, path);
    }
  });
  await t.step("encoded and odd spellings of a protected path are still protected", () => {
    const p = compileProtection(["/members"]);
    for (
      const path of [
        "/%6dembers",
        "/%6Dembers/x",
        "//members",
        "/./members",
        "/x/../members",
        "/members;jsessionid=1",
        "/%2fmembers",
        "/members%2fx",
        "/public/%2e%2e/members",
      ]
    ) {
      assertEquals(p(path), true, path);
    }
  });
  await t.step("a dot-segment that appears only after decoding never leaves a rule", () => {
    const p = compileProtection(["/members", "/teams/:id/settings"]);
    for (
      const path of [
        "/members/..%3B/x",
        "/members/..%3b/billing",
        "/members/.%2e%3Bx/y",
        "/teams/..%3b/settings",
      ]
    ) {
      assertEquals(p(path), true, path);
    }
  });
  await t.step("a trailing slash never escapes a glob or a regex", () => {
    const p = compileProtection([
      "/teams/*/admin",
      "/teams/:id/settings",
      "re:^/api/v\\d+/secret$",
    ]);
    for (const path of ["/teams/a/admin/", "/teams/a/settings/", "/api/v1/secret/"]) {
      assertEquals(p(path), true, path);
    }
  });
  await t.step("a glob ending in /* covers the path it hangs from", () => {
    const p = compileProtection(["/admin/*"]);
    for (const path of ["/admin", "/admin/", "/ADMIN", "/admin/x/y"]) {
      assertEquals(p(path), true, path);
    }
    assertEquals(p("/administrator"), false);
  });
  await t.step("regular expressions ignore case, as prefixes and globs do", () => {
    const p = compileProtection(["re:^/api/v\\d+/"]);
    for (const path of ["/API/v1/secret", "/api/V1/secret", "/Api/v1/x"]) {
      assertEquals(p(path), true, path);
    }
  });
  await t.step("a segment of ;parameters alone is a segment to globs and regexes", () => {
    const p = compileProtection([
      "/teams/*/admin",
      "/api/:v/private",
      "re:^/orgs/[^/]+/admin",
      "/u/:id",
      "/files/*.pdf",
    ]);
    for (
      const path of [
        "/teams/;/admin",
        "/teams/;a/admin",
        "/teams/%3b/admin",
        "/TEAMS/;/ADMIN",
        "/teams/;x/admin/",
        "/api/;/private",
        "/api/;v1;/private",
        "/orgs/;/admin",
        "/u/;",
        "/u/;x",
        "/files/;a.pdf",
      ]
    ) {
      assertEquals(p(path), true, path);
    }
    // and Tomcat's reading still counts: /teams/a;x/admin is /teams/a/admin there
    assertEquals(p("/teams/a;x/admin"), true);
  });
  await t.step("undecodable paths fail closed", () => {
    assertEquals(compileProtection(["/members"])("/%E0%A4%A"), true);
  });
  await t.step("URLPattern globs", () => {
    const p = compileProtection(["/teams/*/admin", "/api/:version/private"]);
    assertEquals(p("/teams/a/admin"), true);
    assertEquals(p("/api/v1/private"), true);
    assertEquals(p("/teams/a/public"), false);
  });
  await t.step("regular expressions with re:", () => {
    const p = compileProtection(["re:^/api/v\\d+/"]);
    assertEquals(p("/api/v2/users"), true);
    assertEquals(p("/api/vx/users"), false);
  });
  await t.step("no rules protect nothing", () => assertEquals(compileProtection([])("/x"), false));
  await t.step("bad rules are config errors", async () => {
    await assertThrows(
      () => compileProtection(["re:(unclosed"]),
      ConfigError,
      /not a regular expression/,
    );
    await assertThrows(() => compileProtection(["members"]), ConfigError, /starts with "\/"/);
    await assertThrows(
      () => compileProtection(["/a/../b"]),
      ConfigError,
      /"\." or "\.\." segments/,
    );
  });
});

Deno.test("compileProtection(): a glob's fixed-head shortcut never changes an answer", () => {
  // The reference asks URLPattern about every path, as the matcher did before the shortcut.
  const reference = (rule: string) => {
    const pattern = new URLPattern({ pathname: rule }, { ignoreCase: true });
    const parent = rule.endsWith("/*")
      ? new URLPattern({ pathname: rule.slice(0, -2) }, { ignoreCase: true })
      : undefined;
    const test = (p: string) =>
      pattern.test({ pathname: p }) || parent?.test({ pathname: p }) === true;
    return (path: string) =>
      normalisePath(path)?.some((p) =>
        test(p) || (p.length > 1 && p.endsWith("/") && test(p.slice(0, -1)))
      ) ?? true;
  };
  const rules = [
    "/teams/*/admin",
    "/admin/*",
    "/api/:version/private",
    "/u/:id?",
    "/a/:id?/b",
    "/files/*.pdf",
    "/Caps/:x",
    "/x{/y}?/*",
    "/k/(\\d+)",
    "/a-b_c~d/*",
    "/v1.2/*",
    "/*/admin",
    "/:tenant/admin",
    "/keys*",
    "/sub{s}?/:x",
  ];
  const segments = [
    "teams",
    "TEAMS",
    "admin",
    "Admin",
    "api",
    "v1",
    "private",
    "u",
    "a",
    "b",
    "files",
    "x.pdf",
    "caps",
    "x",
    "y",
    "k",
    "12",
    "a-b_c~d",
    "v1.2",
    ";",
    "%3b",
    "%41dmin",
    "keys",
    "\u212Aeys",
    "%E2%84%AAeys",
    "sub",
    "subs",
    "s",
    "\u017Fub",
  ];
  const compiled = new Map(rules.map((r) => [r, [compileProtection([r]), reference(r)]]));
  fc.assert(
    fc.property(
      fc.constantFrom(...rules),
      fc.array(fc.constantFrom(...segments), { maxLength: 5 }),
      fc.boolean(),
      (rule, parts, slash) => {
        const path = "/" + parts.join("/") + (slash && parts.length > 0 ? "/" : "");
        const [fast, slow] = compiled.get(rule)!;
        assertEquals(fast(path), slow(path), `${rule} ${path}`);
      },
    ),
    { numRuns: 5000, seed: 19 },
  );
});
