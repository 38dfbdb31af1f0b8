/**
 * Property-based tests (fast-check) for every rewriter: whatever an upstream or a client
 * sends, the output is well-formed (no CR, LF or NUL can be introduced), rewriting twice
 * changes nothing more, and URLs that are not an upstream's are left alone.
 */
import fc from "fast-check";
import { createBodyRewriter } from "../../src/rewrite/body.ts";
import { rewriteLocation } from "../../src/rewrite/location.ts";
import { rewriteSetCookie } from "../../src/rewrite/set_cookie.ts";
import { mapUrl } from "../../src/rewrite/url_map.ts";
import { assert } from "../_support/assert.ts";
import { mappings, welcome } from "./_fixtures.ts";

const CONTROL = /[\r\n\0]/;
const RUNS = { numRuns: 2000 };

// Paths and queries made of URL-ish pieces, including characters that need escaping.
const segment = fc.stringMatching(/^[A-Za-z0-9._~%!$&'()*+,;=:@ -]{0,12}$/);
const path = fc.array(segment, { maxLength: 5 }).map((s) => "/" + s.join("/"));
const query = fc.option(fc.stringMatching(/^[A-Za-z0-9=&%._~-]{0,20}$/), { nil: undefined })
  .map((q) => (q === undefined ? "" : "?" + q));
const host = fc.constantFrom(
  "https://x.projects.oryapis.com",
  "http://127.0.0.1:3000",
  "https://x.projects.oryapis.com.evil.net",
  "http://127.0.0.1:30000",
  "https://example.com",
  "http://localhost:4000",
);
const location = fc.oneof(
  fc.tuple(host, path, query).map(([h, p, q]) => h + p + q),
  fc.tuple(path, query).map(([p, q]) => p + q),
  fc.string(),
);

Deno.test("rewriteLocation() properties", async (t) => {
  const opts = {
    requestUrl: new URL("https://x.projects.oryapis.com/self-service/login/browser"),
    mappings,
    welcome,
  };
  await t.step("never introduces CR, LF or NUL", () => {
    fc.assert(
      fc.property(location, (loc) => {
        fc.pre(!CONTROL.test(loc));
        return !CONTROL.test(rewriteLocation(loc, opts));
      }),
      RUNS,
    );
  });
  await t.step("a relative upstream location becomes an absolute http(s) URL", () => {
    fc.assert(
      fc.property(fc.tuple(path, query), ([p, q]) => {
        fc.pre(!p.startsWith("//")); // scheme-relative: another host, covered below
        const out = rewriteLocation(p + q, opts);
        return /^https?:\/\/[^/?#]+/.test(out);
      }),
      RUNS,
    );
  });
  await t.step("anything that parses as a URL comes out absolute; the rest unchanged", () => {
    fc.assert(
      fc.property(location, (loc) => {
        const out = rewriteLocation(loc, opts);
        let parsed: URL | undefined;
        try {
          parsed = new URL(loc, opts.requestUrl);
        } catch {
          return out === loc;
        }
        return !/^https?:$/.test(parsed.protocol) || /^https?:\/\/./.test(out);
      }),
      RUNS,
    );
  });
  await t.step("rewriting twice changes nothing more", () => {
    fc.assert(
      fc.property(location, (loc) => {
        const once = rewriteLocation(loc, opts);
        return rewriteLocation(once, opts) === once;
      }),
      RUNS,
    );
  });
  await t.step("foreign absolute URLs are untouched", () => {
    fc.assert(
      fc.property(
        fc.tuple(
          fc.constantFrom(
            "https://example.com",
            "https://x.projects.oryapis.com.evil.net",
            "http://127.0.0.1:30000",
          ),
          path,
          query,
        ),
        ([h, p, q]) => {
          return rewriteLocation(h + p + q, opts) === h + p + q;
        },
      ),
      RUNS,
    );
  });
});

Deno.test("createBodyRewriter() properties", async (t) => {
  const rewrite = createBodyRewriter(mappings.map((m) => ({ ...m })));
  const text = fc.array(fc.oneof(fc.string(), fc.tuple(host, path).map(([h, p]) => h + p)), {
    maxLength: 8,
  })
    .map((parts) => parts.join(" "));
  await t.step("rewriting twice changes nothing more", () => {
    fc.assert(fc.property(text, (s) => rewrite(rewrite(s)) === rewrite(s)), RUNS);
  });
  await t.step("text without an upstream base is returned unchanged", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        fc.pre(!s.includes("oryapis.com") && !s.includes("127.0.0.1:3000"));
        return rewrite(s) === s;
      }),
      RUNS,
    );
  });
  await t.step("introduces no control characters", () => {
    fc.assert(
      fc.property(text, (s) => {
        fc.pre(!CONTROL.test(s));
        return !CONTROL.test(rewrite(s));
      }),
      RUNS,
    );
  });
});

Deno.test("rewriteSetCookie() properties", async (t) => {
  const attr = fc.constantFrom(
    "Path=/",
    "Domain=x.projects.oryapis.com",
    "Domain=.oryapis.com",
    "Secure",
    "HttpOnly",
    "SameSite=None",
    "SameSite=Lax",
    "SameSite=Strict",
    "Max-Age=0",
    "Partitioned",
    "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
  );
  const cookie = fc.tuple(
    fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
    fc.stringMatching(/^[A-Za-z0-9%=_-]{0,16}$/),
    fc.array(attr, { maxLength: 6 }),
  ).map(([n, v, attrs]) => [`${n}=${v}`, ...attrs].join("; "));
  const options = fc.record({
    secure: fc.boolean(),
    domain: fc.option(fc.constantFrom("example.org", "localhost"), { nil: undefined }),
  });
  await t.step(
    "output has no control characters and one Domain at most, the configured one",
    () => {
      fc.assert(
        fc.property(cookie, options, (c, o) => {
          const out = rewriteSetCookie(c, o);
          const domains = out.split(";").map((a) => a.trim()).filter((a) => /^domain=/i.test(a));
          return !CONTROL.test(out) && domains.length === (o.domain ? 1 : 0) &&
            (!o.domain || domains[0] === `Domain=${o.domain}`);
        }),
        RUNS,
      );
    },
  );
  await t.step("Secure follows the publish scheme; no SameSite=None without Secure", () => {
    fc.assert(
      fc.property(cookie, options, (c, o) => {
        const attrs = rewriteSetCookie(c, o).split(";").map((a) => a.trim().toLowerCase());
        const secure = attrs.includes("secure");
        return secure === o.secure && (secure || !attrs.includes("samesite=none"));
      }),
      RUNS,
    );
  });
  await t.step("rewriting twice changes nothing more; the name=value pair is kept", () => {
    fc.assert(
      fc.property(cookie, options, (c, o) => {
        const once = rewriteSetCookie(c, o);
        return rewriteSetCookie(once, o) === once && once.split(";")[0] === c.split(";")[0];
      }),
      RUNS,
    );
  });
});

Deno.test("mapUrl() never maps a URL whose host merely starts like an upstream's", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[a-z0-9.-]{1,10}$/), path, (suffix, p) => {
      fc.pre(!/^[/?#]/.test(suffix));
      return mapUrl(`https://x.projects.oryapis.com${suffix}${p}`, mappings) === undefined ||
        suffix === "";
    }),
    RUNS,
  );
  assert(true);
});
