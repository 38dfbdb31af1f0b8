/**
 * What a path demands of a request's session, compiled once from the rule flags:
 *
 * - `--protect-path-prefix <rule>`: an active session;
 * - `--require-aal2 <rule>`: a session at `authenticator_assurance_level` `aal2`;
 * - `--require-verified-email <rule>`: an identity with a verified email address;
 * - `--require-identity "<rule> <condition>"`: an identity meeting the condition
 *   (`identity_condition.ts`); several conditions on one path must all hold.
 *
 * Each flag uses the one rule syntax of `protect.ts` (so every one is matched as strictly) and
 * also protects the paths it names. A path no rule names needs nothing (`undefined`: the gate
 * skips all of this); with no rule at all the compiled function is a constant.
 *
 * @example
 * ```ts
 * import { compileAccessRules, unmetRequirement } from "./access_rules.ts";
 * const requirementsFor = compileAccessRules({ aal2: ["/billing"], protect: ["/members"] });
 * requirementsFor("/public"); // undefined
 * const needs = requirementsFor("/billing/invoices")!;
 * needs.aal2; // true
 * unmetRequirement({ authenticator_assurance_level: "aal1" }, needs); // "aal2"
 * ```
 */
import type { OrySession } from "../jwt/mint.ts";
import {
  conditionHolds,
  type IdentityCondition,
  parseRequireIdentity,
} from "./identity_condition.ts";
import { compileRuleSet, type TaggedRule } from "./protect.ts";
import { assuranceLevel, hasVerifiedEmail } from "./session_fields.ts";

/** The rule flags' values, as the user wrote them. */
export interface AccessRuleFlags {
  readonly protect?: readonly string[];
  readonly aal2?: readonly string[];
  readonly verifiedEmail?: readonly string[];
  readonly identity?: readonly string[];
}

/** What a protected path needs beyond an active session. */
export interface Requirements {
  readonly aal2: boolean;
  readonly verifiedEmail: boolean;
  /** All must hold. */
  readonly conditions: readonly IdentityCondition[];
}

/** A rule that failed, in the order they are checked. */
export type UnmetRequirement = "identity" | "verified_email" | "aal2";

/** The requirements of a path, or undefined when no rule names it. */
export type RequirementsFor = (pathname: string) => Requirements | undefined;

type Tag = "session" | "aal2" | "verified_email" | IdentityCondition;

/**
 * Shared answers for paths without identity conditions, by `aal2 | verifiedEmail << 1`: a
 * protected request allocates nothing unless a condition applies to it.
 */
const SHARED: readonly Requirements[] = [0, 1, 2, 3].map((bits) =>
  Object.freeze({ aal2: (bits & 1) !== 0, verifiedEmail: (bits & 2) !== 0, conditions: [] })
);

/** Kratos's levels at or above AAL2 (`aal3` is defined, though no method reaches it yet). */
const AAL2_OR_HIGHER: ReadonlySet<string> = new Set(["aal2", "aal3"]);

/** Compiles the rule flags; throws `ConfigError` for a malformed one. */
export function compileAccessRules(flags: AccessRuleFlags): RequirementsFor {
  const tagged = (rules: readonly string[] | undefined, flag: string, tag: Tag) =>
    (rules ?? []).map((rule): TaggedRule<Tag> => ({ rule, flag, tag }));
  const rules = [
    ...tagged(flags.protect, "--protect-path-prefix", "session"),
    ...tagged(flags.aal2, "--require-aal2", "aal2"),
    ...tagged(flags.verifiedEmail, "--require-verified-email", "verified_email"),
    ...(flags.identity ?? []).map((value): TaggedRule<Tag> => {
      const { rule, condition } = parseRequireIdentity(value);
      return { rule, flag: "--require-identity", tag: condition };
    }),
  ];
  if (rules.length === 0) return () => undefined;
  const match = compileRuleSet(rules);
  return (pathname) => {
    const tags = match(pathname);
    if (tags === undefined) return undefined;
    let bits = 0;
    let conditions: IdentityCondition[] | undefined;
    for (const tag of tags) {
      if (tag === "aal2") bits |= 1;
      else if (tag === "verified_email") bits |= 2;
      else if (tag !== "session") (conditions ??= []).push(tag);
    }
    const shared = SHARED[bits];
    return conditions === undefined ? shared : { ...shared, conditions };
  };
}

/**
 * The first requirement `session` fails, checked in this order: identity conditions (a 403
 * nobody can fix by signing in again), then a verified email, then AAL2; undefined when all
 * hold.
 */
export function unmetRequirement(
  session: OrySession,
  needs: Requirements,
): UnmetRequirement | undefined {
  for (const condition of needs.conditions) {
    if (!conditionHolds(session, condition)) return "identity";
  }
  if (needs.verifiedEmail && !hasVerifiedEmail(session)) return "verified_email";
  if (needs.aal2 && !AAL2_OR_HIGHER.has(assuranceLevel(session) ?? "")) return "aal2";
  return undefined;
}
