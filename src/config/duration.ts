/**
 * Parses a duration such as `500ms`, `30s`, `2m`, `1h` or a bare number of seconds.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("--jwt-ttl", "2m"); // 120000
 * ```
 */
import { ConfigError } from "../errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Returns the duration in milliseconds or throws a {@linkcode ConfigError} naming the flag. */
export function parseDuration(flag: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) {
    throw new ConfigError(
      `Cannot parse ${flag}: "${value}" is not a duration (use e.g. 500ms, 30s, 2m)`,
    );
  }
  const ms = Number(match[1]) * UNITS[match[2] ?? "s"];
  if (!Number.isFinite(ms) || ms > 2 ** 31 - 1) {
    throw new ConfigError(`Cannot parse ${flag}: "${value}" is too long`);
  }
  return Math.round(ms);
}
