import { createCredentialMemo, extractCredentials } from "../../src/session/credentials.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("extractCredentials()", async (t) => {
  await t.step("no Ory credential → undefined", () => {
    assertEquals(extractCredentials(new Headers({ cookie: "app=1; theme=dark" })), undefined);
    assertEquals(extractCredentials(new Headers({ authorization: "Basic YTpi" })), undefined);
  });
  await t.step("keeps only Ory's session cookies, in the order sent", () => {
    const c = extractCredentials(
      new Headers({ cookie: "app=1; ory_session_abc=s1; ory_kratos_session=s2" }),
    );
    // Never sorted: Ory takes the first of two same-named cookies, as the app does.
    assertEquals(c?.cookie, "ory_session_abc=s1; ory_kratos_session=s2");
  });
  await t.step("with a session cookie, a token beside it is not asked about", () => {
    const c = extractCredentials(
      new Headers({
        cookie: "ory_kratos_session=carol",
        "x-session-token": "alice",
        authorization: "Bearer alice",
      }),
    );
    assertEquals([c?.cookie, c?.sessionToken, c?.authorization], [
      "ory_kratos_session=carol",
      undefined,
      undefined,
    ]);
  });
  await t.step("a quote left open across ';' makes the cookies count for nothing", () => {
    const c = extractCredentials(
      new Headers({ cookie: 'a="x;ory_kratos_session=dave;y"; ory_kratos_session=carol' }),
    );
    assertEquals(c, undefined);
    const fine = extractCredentials(
      new Headers({ cookie: 'a="x y"; ory_kratos_session=carol' }),
    );
    assertEquals(fine?.cookie, "ory_kratos_session=carol");
  });
  await t.step("a disguised session cookie name never reaches the app", () => {
    // Names lenient parsers read as ory_kratos_session: Python strips NEL and Unicode spaces
    // (raw UTF-8 arrives as Latin-1 characters), PHP and Rack decode escapes and map . to _.
    for (
      const disguise of [
        "\x85ory_kratos_session",
        "ory_kratos_session\x85",
        "\u00c2\u00a0ory_kratos_session", // UTF-8 NBSP as Latin-1
        "\u00e2\u0080\u0080ory_kratos_session", // UTF-8 U+2000
        "ory%5Fkratos%5Fsession",
        "ory.kratos.session",
        "ory_session_x\x85",
      ]
    ) {
      const both = extractCredentials(
        new Headers({ cookie: `a=1; ory_kratos_session=alice; ${disguise}=bob; z=2` }),
      );
      assertEquals(both?.cookie, "ory_kratos_session=alice", disguise);
      assertEquals(both?.appCookie, "a=1; ory_kratos_session=alice; z=2", disguise);
      // Alone, beside a token: the token is asked about, and the app gets no disguised cookie.
      const alone = extractCredentials(
        new Headers({ cookie: `${disguise}=bob`, "x-session-token": "alice" }),
      );
      assertEquals([alone?.sessionToken, alone?.appCookie], ["alice", ""], disguise);
      const nothing = extractCredentials(new Headers({ cookie: `${disguise}=bob; a=1` }));
      assertEquals([nothing?.key, nothing?.appCookie], ["", "a=1"], disguise);
    }
    // Ordinary cookies that merely contain "ory" are left alone.
    assertEquals(extractCredentials(new Headers({ cookie: "history=1; category=x" })), undefined);
  });
  await t.step("two orders of the same cookies are two cache keys", () => {
    const a = extractCredentials(
      new Headers({ cookie: "ory_kratos_session=alice; ory_kratos_session=bob" }),
    );
    const b = extractCredentials(
      new Headers({ cookie: "ory_kratos_session=bob; ory_kratos_session=alice" }),
    );
    // Ory is asked about the first only, and the app gets the header without the second.
    assertEquals(a?.cookie, "ory_kratos_session=alice");
    assertEquals(a?.appCookie, "ory_kratos_session=alice");
    assertEquals(b?.cookie, "ory_kratos_session=bob");
    assertEquals(a?.key === b?.key, false);
    const mixed = extractCredentials(
      new Headers({ cookie: "x=1; ory_kratos_session=alice; y=2; ory_kratos_session=bob; z=3" }),
    );
    assertEquals(mixed?.appCookie, "x=1; ory_kratos_session=alice; y=2; z=3");
    const single = extractCredentials(new Headers({ cookie: "x=1; ory_kratos_session=alice" }));
    assertEquals(single?.appCookie, undefined);
  });
  await t.step("the key is a hash and never contains the secret", () => {
    const c = extractCredentials(new Headers({ "x-session-token": "supersecret" }));
    assertEquals(/^[0-9a-f]{64}$/.test(c!.key), true);
    assertEquals(c!.key.includes("supersecret"), false);
    // SHA-256 of exactly the Ory credential parts (a known vector pins the format).
    assertEquals(c!.key, "6a1d56cbd57d0542617f88ef9f00c925890b77d18f3175ce92d559d53ff582ca");
  });
  await t.step("the same credentials give the same key; others differ", () => {
    const a = extractCredentials(new Headers({ authorization: "Bearer t1" }));
    const b = extractCredentials(new Headers({ authorization: "Bearer t1" }));
    const c = extractCredentials(new Headers({ authorization: "Bearer t2" }));
    assertEquals(a!.key, b!.key);
    assertEquals(a!.key === c!.key, false);
  });
  await t.step("a memo reuses the answer only while all three headers are unchanged", () => {
    const memo = createCredentialMemo();
    const alice = new Headers({ cookie: "ory_kratos_session=alice" });
    const first = extractCredentials(alice, memo);
    assertEquals(extractCredentials(new Headers(alice), memo) === first, true); // reused
    for (
      const changed of <Record<string, string>[]> [
        { cookie: "ory_kratos_session=bob" },
        { cookie: "ory_kratos_session=bob; ory_kratos_session=alice" },
        { "x-session-token": "alice" },
        { authorization: "Bearer alice" },
      ]
    ) {
      const cred = extractCredentials(new Headers(changed), memo);
      assertEquals(cred?.key === first?.key, false, JSON.stringify(changed));
      assertEquals(cred, extractCredentials(new Headers(changed))); // same as without a memo
    }
    assertEquals(extractCredentials(new Headers(), memo), undefined);
    assertEquals(extractCredentials(alice, memo)?.key, first?.key);
  });
});
