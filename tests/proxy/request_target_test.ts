import fc from "fast-check";
import { canonicalTarget, splitUrl } from "../../src/proxy/request_target.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

Deno.test("canonicalTarget() keeps canonical targets as they are", () => {
  for (
    const t of [
      "/",
      "/members",
      "/members/",
      "/a/b.c/d~e_f-g?x=1&y=%2F",
      "/%C3%A9t%C3%A9",
      "/a;b=c/d",
      "/a/%3B/%3F%23",
      "/.well-known/x",
      "/a/..b/c.",
      "/x?q=../../members",
      "/x?a=%zz",
    ]
  ) {
    const d = canonicalTarget(t);
    assertEquals(d.refused, undefined, t);
    assertEquals(d.refused === undefined ? d.path + d.query : "", t);
  }
});

Deno.test("canonicalTarget() normalises without changing meaning", () => {
  const cases: [string, string][] = [
    ["/%6dembers", "/members"],
    ["/%4D%45%4D%42%45%52%53/x", "/MEMBERS/x"],
    ["/pub/%2e%2e/members", "/members"],
    ["/pub/.%2E/members/", "/members/"],
    ["/pub/%2E./members", "/members"],
    ["/x/../members", "/members"],
    ["/./members/./x", "/members/x"],
    ["/../../members", "/members"],
    ["//members", "/members"],
    ["/a//b///c/", "/a/b/c/"],
    ["/a/b/..", "/a/"],
    ["/a/b/.", "/a/b/"],
    ["/..", "/"],
    ["/a/%7e", "/a/~"],
    ['/a"<>`{}', "/a%22%3C%3E%60%7B%7D"],
    ["/a?q='\"<>", "/a?q=%27%22%3C%3E"],
    ["/a?", "/a"],
    ["/;x/members", "/;x/members"],
  ];
  for (const [raw, canonical] of cases) {
    const d = canonicalTarget(raw);
    assertEquals(d.refused === undefined ? d.path + d.query : d.refused, canonical, raw);
  }
});

Deno.test("canonicalTarget() refuses what routers disagree about", async (t) => {
  const cases: Record<string, string[]> = {
    "encoded slash or backslash": [
      "/members/..%2fpub",
      "/members/..%2Fpub",
      "/pub%2f..%2fmembers",
      "/members%5c..%5cpub",
      "/members/%5C",
    ],
    "raw backslash": ["/members\\..\\pub", "/pub\\members"],
    "double encoding": ["/members/%252e%252e/pub", "/%256dembers", "/a%252fb", "/a/%2525"],
    "dot-segment hidden by escapes or parameters": [
      "/members/..%3B/x",
      "/members/..%3b/x",
      "/members/%2e%2e%3b/x",
      "/members/.%2e%3B/x",
      "/members/..%3Bx/billing",
      "/members/..%3Bjsessionid=1/x",
      "/members/..%3B%3B/x",
      "/members/..%3B;/x",
      "/teams/..%3b/settings",
      "/a/.%3B/b",
      "/members/..;/pub",
      "/pub/..;x/members",
      "/a/.;x/b",
      "/a/%2e%2e;/b",
    ],
    "NUL and other escaped controls": [
      "/members%00",
      "/a/%00/b",
      "/api/%09/private",
      "/api/%0a/private",
      "/api/%0D/private",
      "/u/%1f",
      "/u/%7F",
    ],
    "invalid escape": ["/a%zz", "/a%", "/a%2", "/a%g0"],
    "raw bytes": ["/a b", "/caf\u00e9", "/\u{ff4d}embers", "/a\tb", "/a\x7f", "/a?q=\u00e9"],
    "fragment": ["/a#b", "/a?b#c"],
    "not origin-form": ["*", "members", ""],
  };
  for (const [name, targets] of Object.entries(cases)) {
    await t.step(name, () => {
      for (const target of targets) {
        const d = canonicalTarget(target);
        assert(d.refused !== undefined, `${JSON.stringify(target)} must be refused`);
        assertMatch(d.refused, /\S/);
      }
    });
  }
});

const ANY_TARGET = fc.array(
  fc.constantFrom(
    "/",
    "a",
    "B",
    ".",
    "..",
    "%2e",
    "%2E",
    "%41",
    "%7E",
    "%C3%A9",
    "%3B",
    ";",
    ";p",
    "~",
    '"',
    "{",
    "`",
    "%2F",
    "%25",
    "\\",
    "?",
    "=",
    "'",
  ),
  { maxLength: 14 },
).map((parts) => "/" + parts.join(""));

Deno.test("canonicalTarget() is idempotent and URL parsing keeps its output", () => {
  fc.assert(
    fc.property(ANY_TARGET, (raw) => {
      const d = canonicalTarget(raw);
      if (d.refused !== undefined) return;
      const again = canonicalTarget(d.path + d.query);
      assertEquals(again.refused, undefined, raw);
      assertEquals(again.refused === undefined && again.path + again.query, d.path + d.query);
      // The engine builds its URL from the canonical form: parsing must not move a byte.
      const url = new URL("http://x" + d.path + d.query);
      assertEquals(url.pathname + url.search, d.path + d.query, raw);
    }),
    { numRuns: 3000, seed: 7 },
  );
});

Deno.test("splitUrl() separates the origin from the raw target", () => {
  assertEquals(splitUrl("http://h:1/a/../b?c"), { origin: "http://h:1", target: "/a/../b?c" });
  assertEquals(splitUrl("https://h"), { origin: "https://h", target: "/" });
  assertEquals(splitUrl("http://h?x=1"), { origin: "http://h", target: "/?x=1" });
  assertEquals(splitUrl("http://[::1]:4000/%2e%2e"), {
    origin: "http://[::1]:4000",
    target: "/%2e%2e",
  });
});
