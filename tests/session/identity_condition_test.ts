import { ConfigError } from "../../src/errors.ts";
import { conditionHolds, parseRequireIdentity } from "../../src/session/identity_condition.ts";
import { assertEquals, assertThrows } from "../_support/assert.ts";

Deno.test("parseRequireIdentity() reads a rule and a condition", async (t) => {
  const cases: [string, string, string, string[], boolean, string][] = [
    ["/admin metadata_public.role=admin", "/admin", "metadata_public", ["role"], false, "admin"],
    ["  /admin \t  traits.org.id=42  ", "/admin", "traits", ["org", "id"], false, "42"],
    ["re:^/api/v\\d+/ schema_id!=guest", "re:^/api/v\\d+/", "schema_id", [], true, "guest"],
    [
      "/teams/*/admin traits.name=Ada Lovelace",
      "/teams/*/admin",
      "traits",
      ["name"],
      false,
      "Ada Lovelace",
    ],
    ["/x traits.a = b", "/x", "traits", ["a"], false, "b"],
    ["/x traits.a=b=c", "/x", "traits", ["a"], false, "b=c"],
    ["/x traits.a=!b", "/x", "traits", ["a"], false, "!b"],
    ["/x traits.emails.0=a@example.com", "/x", "traits", ["emails", "0"], false, "a@example.com"],
  ];
  for (const [value, rule, root, path, negated, expected] of cases) {
    await t.step(value, () => {
      const parsed = parseRequireIdentity(value);
      assertEquals(parsed, { rule, condition: { root, path, negated, value: expected } });
    });
  }
});

Deno.test("parseRequireIdentity() refuses malformed values with one line", async (t) => {
  const cases: [string, RegExp][] = [
    ["/admin", /needs a path rule, a space and a condition/],
    ["", /needs a path rule, a space and a condition/],
    ["metadata_public.role=admin", /needs a path rule, a space and a condition/],
    ["/admin role", /has no = or !=/],
    ["/admin role=admin", /"role" is not schema_id, traits.<name> or metadata_public.<name>/],
    ["/admin traits=x", /"traits" is not schema_id/],
    ["/admin traits.=x", /"traits." is not schema_id/],
    ["/admin traits.a..b=x", /"traits.a..b" is not schema_id/],
    ["/admin schema_id.x=y", /"schema_id.x" is not schema_id/],
    ["/admin metadata_admin.role=x", /"metadata_admin.role" is not/],
    ["/admin traits.a b=x", /"traits.a b" is not/],
    ["/admin traits.role=", /no value after =/],
    ["/admin traits.role!=  ", /no value after !=/],
    ["/admin =x", /"" is not schema_id/],
  ];
  for (const [value, message] of cases) {
    await t.step(JSON.stringify(value), async () => {
      const err = await assertThrows(() => parseRequireIdentity(value), ConfigError, message);
      assertEquals(err.message.includes("\n"), false);
      assertEquals(err.message.startsWith(`Cannot use --require-identity "${value}": `), true);
    });
  }
});

Deno.test("conditionHolds() compares as strings, any element of an array", async (t) => {
  const identity = {
    schema_id: "staff",
    traits: { email: "a@example.com", org: { id: 42, admin: true }, emails: ["x@y", "z@w"] },
    metadata_public: { roles: ["dev", "admin"], level: null, nested: { a: [1, 2] } },
  };
  const session = { id: "s", identity };
  const cases: [string, boolean][] = [
    ["schema_id=staff", true],
    ["schema_id=Staff", false],
    ["schema_id!=guest", true],
    ["traits.email=a@example.com", true],
    ["traits.org.id=42", true],
    ["traits.org.admin=true", true],
    ["traits.org.admin!=true", false],
    ["metadata_public.roles=admin", true],
    ["metadata_public.roles=ops", false],
    ["metadata_public.roles!=ops", true],
    ["metadata_public.roles!=admin", false],
    ["traits.emails.1=z@w", true],
    ["metadata_public.nested.a=2", true],
    // absent, null and objects equal nothing
    ["metadata_public.missing=x", false],
    ["metadata_public.missing!=x", true],
    ["metadata_public.level=null", false],
    ["traits.org=[object Object]", false],
    // inherited properties are not fields
    ["traits.constructor=function Object() { [native code] }", false],
    ["traits.email.length=13", false],
  ];
  for (const [condition, expected] of cases) {
    await t.step(`${condition} → ${expected}`, () => {
      const parsed = parseRequireIdentity(`/x ${condition}`).condition;
      assertEquals(conditionHolds(session, parsed), expected);
    });
  }
  await t.step("a session without an identity meets only != conditions", () => {
    const eq = parseRequireIdentity("/x traits.a=b").condition;
    const ne = parseRequireIdentity("/x traits.a!=b").condition;
    assertEquals([conditionHolds({}, eq), conditionHolds({}, ne)], [false, true]);
  });
});
