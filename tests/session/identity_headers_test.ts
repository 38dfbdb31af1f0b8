import { ORY_IDENTITY_HEADERS } from "../../src/proxy/ory_headers.ts";
import { identityHeaders } from "../../src/session/identity_headers.ts";
import { hasVerifiedEmail } from "../../src/session/session_fields.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("identityHeaders()", async (t) => {
  await t.step("the four headers, all of them the ones the proxy strips from clients", () => {
    const pairs = identityHeaders({
      id: "s1",
      authenticator_assurance_level: "aal2",
      identity: {
        id: "i1",
        traits: { email: "trait@example.com" },
        verifiable_addresses: [
          { via: "sms", value: "+15550100", verified: true },
          { via: "email", value: "first@example.com", verified: false },
          { via: "email", value: "second@example.com", verified: true },
        ],
      },
    });
    assertEquals(pairs, [
      ["x-ory-identity-id", "i1"],
      ["x-ory-session-id", "s1"],
      // The verified one, though listed second (what --require-verified-email checked).
      ["x-ory-identity-email", "second@example.com"],
      ["x-ory-aal", "aal2"],
    ]);
    assertEquals(pairs.map(([name]) => name), [...ORY_IDENTITY_HEADERS]);
  });
  await t.step("the first address when none is verified", () => {
    const pairs = identityHeaders({
      id: "s",
      identity: {
        id: "i",
        verifiable_addresses: [
          { via: "email", value: "one@example.com", verified: false },
          { via: "email", value: "two@example.com", verified: false },
        ],
      },
    });
    assertEquals(pairs.find(([n]) => n === "x-ory-identity-email")?.[1], "one@example.com");
  });
  await t.step(
    "a verified entry without a value verifies nothing (the rule and the header agree)",
    () => {
      // A second review round's counterexample: the rule passed on the valueless entry while the
      // header fell back to the unverified address.
      for (const value of [undefined, null, 42, "", {}, ["unv@x.com"]]) {
        const session = {
          id: "s",
          identity: {
            id: "i",
            traits: { email: "trait@x.com" },
            verifiable_addresses: [
              { via: "email", value, verified: true },
              { via: "email", value: "unv@x.com", verified: false },
            ],
          },
        };
        assertEquals(hasVerifiedEmail(session), false, JSON.stringify(value));
        const email = identityHeaders(session).find(([n]) => n === "x-ory-identity-email")?.[1];
        assertEquals(email, "unv@x.com", JSON.stringify(value));
      }
    },
  );
  await t.step("traits.email without an email address; nothing without either", () => {
    const withTrait = identityHeaders({ id: "s", identity: { id: "i", traits: { email: "t@x" } } });
    assertEquals(withTrait.find(([n]) => n === "x-ory-identity-email")?.[1], "t@x");
    const without = identityHeaders({ id: "s", identity: { id: "i", traits: { email: 5 } } });
    assertEquals(without.map(([n]) => n), ["x-ory-identity-id", "x-ory-session-id"]);
  });
  await t.step("values a header cannot carry as they are are left out", () => {
    for (const email of ["a@b\r\nX-Ory-Aal: aal2", "ü@example.com", " a@b", "a@b\t", "", "a\0b"]) {
      const pairs = identityHeaders({ id: "s", identity: { id: "i", traits: { email } } });
      assertEquals(pairs.some(([n]) => n === "x-ory-identity-email"), false, JSON.stringify(email));
    }
  });
});
