import { ConfigError } from "../../src/errors.ts";
import { compileAccessRules, unmetRequirement } from "../../src/session/access_rules.ts";
import { assertEquals, assertThrows } from "../_support/assert.ts";

Deno.test("compileAccessRules() gives each path what its rules demand", async (t) => {
  const requirementsFor = compileAccessRules({
    protect: ["/members"],
    aal2: ["/billing", "re:^/api/v\\d+/admin"],
    verifiedEmail: ["/billing/*", "/inbox"],
    identity: ["/teams/*/admin metadata_public.role=admin", "/teams/*/admin schema_id!=guest"],
  });
  const summary = (path: string) => {
    const needs = requirementsFor(path);
    if (needs === undefined) return "open";
    const parts = ["session"];
    if (needs.aal2) parts.push("aal2");
    if (needs.verifiedEmail) parts.push("email");
    for (const c of needs.conditions) parts.push(`${c.root}.${c.path.join(".")}`);
    return parts.join("+");
  };
  const cases: [string, string][] = [
    ["/", "open"],
    ["/membership", "open"],
    ["/members/x", "session"],
    ["/billing", "session+aal2+email"],
    ["/BILLING/", "session+aal2+email"],
    ["/%62illing/x", "session+aal2+email"],
    ["/billings", "open"],
    ["/inbox;x", "session+email"],
    ["/API/v2/admin/users", "session+aal2"],
    ["/teams/a/admin", "session+metadata_public.role+schema_id."],
    ["/teams/;/admin/", "session+metadata_public.role+schema_id."],
    ["/teams/a/public", "open"],
    // a path that cannot be read needs everything every rule demands
    ["/%E0%A4%A", "session+aal2+email+metadata_public.role+schema_id."],
  ];
  for (const [path, expected] of cases) {
    await t.step(`${path} → ${expected}`, () => assertEquals(summary(path), expected));
  }
  await t.step("paths without identity conditions share one answer (no allocation)", () => {
    assertEquals(requirementsFor("/billing") === requirementsFor("/billing/x"), true);
    assertEquals(requirementsFor("/members") === requirementsFor("/members/y"), true);
  });
});

Deno.test("compileAccessRules() without rules needs nothing anywhere", () => {
  const requirementsFor = compileAccessRules({});
  for (const path of ["/", "/members", "/%E0%A4%A"]) assertEquals(requirementsFor(path), undefined);
});

Deno.test("compileAccessRules() refuses a malformed rule, naming its flag", async (t) => {
  const cases: [Parameters<typeof compileAccessRules>[0], RegExp][] = [
    [{ aal2: ["re:("] }, /^Cannot use --require-aal2 "re:\(": not a regular expression/],
    [{ aal2: ["billing"] }, /^Cannot use --require-aal2 "billing": a rule starts with "\/"/],
    [{ verifiedEmail: ["/a/../b"] }, /^Cannot use --require-verified-email "\/a\/..\/b"/],
    [
      { verifiedEmail: ["/x/{"] },
      /^Cannot use --require-verified-email "\/x\/{": not a URLPattern/,
    ],
    [{ identity: ["re:( traits.a=b"] }, /^Cannot use --require-identity "re:\(": not a regular/],
    [{ identity: ["admin traits.a=b"] }, /^Cannot use --require-identity "admin": a rule starts/],
    [{ identity: ["/admin"] }, /^Cannot use --require-identity "\/admin": it needs a path rule/],
    [{ protect: ["x"] }, /^Cannot use --protect-path-prefix "x"/],
  ];
  for (const [flags, message] of cases) {
    await t.step(String(message), async () => {
      const err = await assertThrows(() => compileAccessRules(flags), ConfigError, message);
      assertEquals(err.message.includes("\n"), false);
    });
  }
});

Deno.test("unmetRequirement() checks identity, then a verified email, then AAL2", async (t) => {
  const needs = compileAccessRules({
    aal2: ["/x"],
    verifiedEmail: ["/x"],
    identity: ["/x traits.team=core"],
  })("/x")!;
  const session = (aal: string, verified: boolean, team: string) => ({
    authenticator_assurance_level: aal,
    identity: {
      id: "i",
      traits: { team },
      verifiable_addresses: [{ via: "email", value: "a@b", verified }],
    },
  });
  const cases: [string, ReturnType<typeof session>, string | undefined][] = [
    ["all three fail", session("aal1", false, "web"), "identity"],
    ["email and AAL fail", session("aal1", false, "core"), "verified_email"],
    ["only AAL fails", session("aal1", true, "core"), "aal2"],
    ["all hold", session("aal2", true, "core"), undefined],
    ["aal3 is above aal2", session("aal3", true, "core"), undefined],
    [
      "an AAL that is no string fails",
      { ...session("aal2", true, "core"), authenticator_assurance_level: 2 } as never,
      "aal2",
    ],
  ];
  for (const [name, s, expected] of cases) {
    await t.step(name, () => assertEquals(unmetRequirement(s, needs), expected));
  }
});
