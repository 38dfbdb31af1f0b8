/**
 * `--require-identity "<rule> <condition>"`: the path rule and the condition are separated by
 * the first run of whitespace (so a rule holds none: write `\s` in a regex). A condition is
 * `<field>=<value>` or `<field>!=<value>`, where the field is `schema_id`,
 * `traits.<dot.path>` or `metadata_public.<dot.path>` (names of letters, digits, `_` and `-`;
 * a number indexes an array). Values compare as strings (a number or boolean as written in
 * JSON); when the field holds an array, `=` holds if any element equals and `!=` if none does.
 * A missing field equals nothing, so `metadata_public.banned!=true` holds without one.
 *
 * @example
 * ```ts
 * import { conditionHolds, parseRequireIdentity } from "./identity_condition.ts";
 * const { rule, condition } = parseRequireIdentity("/admin metadata_public.roles=admin");
 * rule; // "/admin"
 * conditionHolds({ identity: { metadata_public: { roles: ["admin", "dev"] } } }, condition); // true
 * ```
 */
import { ConfigError } from "../errors.ts";
import type { OrySession } from "../jwt/mint.ts";
import { identityField } from "./session_fields.ts";

/** One parsed condition on identity fields. */
export interface IdentityCondition {
  readonly root: "schema_id" | "traits" | "metadata_public";
  /** Keys below `root` (empty for `schema_id`). */
  readonly path: readonly string[];
  /** True for `!=`. */
  readonly negated: boolean;
  readonly value: string;
}

const FLAG = "--require-identity";
const EXAMPLE = `e.g. ${FLAG} "/admin metadata_public.role=admin"`;
const NAME = /^[A-Za-z0-9_-]+$/;

/** Splits and parses one `--require-identity` value; throws {@linkcode ConfigError}. */
export function parseRequireIdentity(
  flagValue: string,
): { readonly rule: string; readonly condition: IdentityCondition } {
  const match = /^\s*(\S+)\s+(\S.*?)\s*$/s.exec(flagValue);
  if (match === null) {
    throw new ConfigError(
      `Cannot use ${FLAG} "${flagValue}": it needs a path rule, a space and a condition (${EXAMPLE})`,
    );
  }
  return { rule: match[1], condition: parseCondition(match[2], flagValue) };
}

function parseCondition(text: string, flagValue: string): IdentityCondition {
  const fail = (why: string) => new ConfigError(`Cannot use ${FLAG} "${flagValue}": ${why}`);
  const eq = text.indexOf("=");
  if (eq === -1) throw fail(`the condition "${text}" has no = or != (${EXAMPLE})`);
  const negated = eq > 0 && text[eq - 1] === "!";
  const field = text.slice(0, negated ? eq - 1 : eq).trim();
  const value = text.slice(eq + 1).trim();
  const [root, ...path] = field.split(".");
  const known = root === "schema_id"
    ? path.length === 0
    : (root === "traits" || root === "metadata_public") && path.length > 0 &&
      path.every((key) => NAME.test(key));
  if (!known) {
    throw fail(
      `"${field}" is not schema_id, traits.<name> or metadata_public.<name> (${EXAMPLE})`,
    );
  }
  if (value === "") throw fail(`the condition has no value after ${negated ? "!=" : "="}`);
  return { root: root as IdentityCondition["root"], path, negated, value };
}

/** Whether `session`'s identity meets `condition`. */
export function conditionHolds(session: OrySession, condition: IdentityCondition): boolean {
  const found = identityField(session, condition.root, condition.path);
  const equal = Array.isArray(found)
    ? found.some((item) => asString(item) === condition.value)
    : asString(found) === condition.value;
  return equal !== condition.negated;
}

/** A scalar as compared: a string as it is, a number or boolean as JSON writes it. */
function asString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}
