/**
 * "Did you mean …?" for a mistyped flag. commander's own suggestion only looks three edits
 * away, so a flag typed short (`--protect-path` for `--protect-path-prefix`) got none; this
 * also offers the flags the typed one begins, or that begin it.
 *
 * @example
 * ```ts
 * import { suggestFlags } from "./suggest.ts";
 * suggestFlags("--protect-path", ["--port", "--protect-path-prefix"]); // ["--protect-path-prefix"]
 * suggestFlags("--prot", ["--port", "--project"]); // ["--port"]
 * ```
 */

/** Most edits a typo may be away from a flag (as commander). */
const MAX_DISTANCE = 3;
/** Fewest letters a shortened flag must keep to be taken for a longer one. */
const MIN_PREFIX = 4;

/**
 * The flags `typed` most likely meant (`--name=value` counts as `--name`), best first; empty
 * when nothing is close.
 */
export function suggestFlags(typed: string, candidates: readonly string[]): string[] {
  const word = typed.replace(/=.*$/s, "");
  if (!word.startsWith("--")) return [];
  const bare = word.slice(2).toLowerCase();
  const unique = [...new Set(candidates.filter((c) => c.startsWith("--") && c !== word))];
  // A flag typed short, or one with something added to it.
  const affix = unique.filter((c) => {
    const name = c.slice(2);
    return (name.startsWith(bare) && bare.length >= MIN_PREFIX) ||
      (bare.startsWith(name) && name.length >= MIN_PREFIX);
  });
  let best = MAX_DISTANCE + 1;
  let close: string[] = [];
  for (const c of unique) {
    const name = c.slice(2);
    const distance = editDistance(bare, name);
    const similarity = (Math.max(bare.length, name.length) - distance) /
      Math.max(bare.length, name.length);
    if (distance > MAX_DISTANCE || similarity <= 0.4) continue;
    if (distance < best) {
      best = distance;
      close = [c];
    } else if (distance === best) {
      close.push(c);
    }
  }
  // A near typo wins over a prefix: `--prot` is `--port` before `--protect-path-prefix`.
  const ordered = [...close.sort(), ...affix.sort((a, b) => a.length - b.length)];
  return [...new Set(ordered)].slice(0, 3);
}

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > MAX_DISTANCE) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d[i] = [i];
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let j = 1; j <= b.length; j++) {
    for (let i = 1; i <= a.length; i++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
