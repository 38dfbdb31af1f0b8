/** Tiny assertions (JSR's @std/assert is unreachable here); node:assert does the deep work. */
import assert from "node:assert/strict";

export const assertEquals: <T>(
  actual: unknown,
  expected: T,
  message?: string,
) => asserts actual is T = assert.deepStrictEqual;
export const assertMatch = (actual: string, re: RegExp, message?: string): void =>
  assert.match(actual, re, message);
export { assert };

/** Asserts that `fn` throws (or rejects) an error of `type` whose message matches `re`. */
export async function assertThrows(
  fn: () => unknown,
  type: abstract new (...args: never[]) => Error,
  re?: RegExp,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${err}`);
    if (re) assert.match((err as Error).message, re);
    return err as Error;
  }
  throw new assert.AssertionError({ message: `expected ${type.name} to be thrown` });
}
