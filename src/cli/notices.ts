/**
 * Start-up notices about flags that were accepted but may not do what the user thinks.
 *
 * @example
 * ```ts
 * import { oryUrlConflict } from "./notices.ts";
 * oryUrlConflict(
 *   { options: { sdkUrl: "http://127.0.0.1:4433", project: "demo" }, env: {} },
 *   { oryBase: "http://127.0.0.1:4433" },
 * );
 * // "both --sdk-url and --project are set: Ory is http://127.0.0.1:4433 (from --sdk-url); --project is ignored"
 * ```
 */
import type { Config } from "../config/config.ts";
import type { ParseInput } from "../config/parse.ts";

/**
 * When an Ory URL (`--sdk-url`, `ORY_SDK_URL`) and a project (`--project`, `ORY_PROJECT_SLUG`,
 * `ORY_PROJECT_ID`) are both given, says which one is used (the URL, as `ory proxy` does).
 */
export function oryUrlConflict(
  input: Pick<ParseInput, "options" | "env">,
  config: Pick<Config, "oryBase">,
): string | undefined {
  const { options, env } = input;
  const url = given(options.sdkUrl) ? "--sdk-url" : given(env.ORY_SDK_URL) ? "ORY_SDK_URL" : "";
  const project = given(options.project)
    ? "--project"
    : given(env.ORY_PROJECT_SLUG)
    ? "ORY_PROJECT_SLUG"
    : given(env.ORY_PROJECT_ID)
    ? "ORY_PROJECT_ID"
    : "";
  if (!url || !project) return undefined;
  const ory = config.oryBase;
  return `both ${url} and ${project} are set: Ory is ${ory} (from ${url}); ${project} is ignored`;
}

function given(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== "";
}
