/**
 * The orygate version, read from `deno.json` so the number lives in exactly one place.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`orygate ${VERSION}`);
 * ```
 */
import meta from "../deno.json" with { type: "json" };

/** The release version, e.g. `0.1.0`. */
export const VERSION: string = meta.version;
