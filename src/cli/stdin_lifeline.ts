/**
 * The npm launcher's lifeline: it runs orygate with stdin a pipe that only it holds and sets
 * {@linkcode STDIN_LIFELINE_ENV}; the pipe closes when the launcher ends, however it ends (even
 * by SIGKILL), and orygate then stops as it does on SIGTERM instead of outliving it.
 *
 * @example
 * ```ts
 * const chunks = [new Uint8Array(3)];
 * const stdin: Readable = { read: () => Promise.resolve(chunks.shift()?.length ?? null) };
 * await stdinClosed(stdin); // resolves once read() says the end: null
 * console.assert(chunks.length === 0 && STDIN_LIFELINE_ENV.startsWith("ORYGATE_"));
 * ```
 *
 * @module
 */

/** Set to `1` by the npm launcher (`npm/bin/orygate.cjs`): stop when stdin closes. */
export const STDIN_LIFELINE_ENV = "ORYGATE_STOP_WHEN_STDIN_CLOSES";

/** What {@linkcode stdinClosed} reads; `Deno.stdin` by default. */
export interface Readable {
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Resolves when `stdin` reaches its end or fails; whatever arrives before is ignored. */
export async function stdinClosed(stdin: Readable = Deno.stdin): Promise<void> {
  const buffer = new Uint8Array(256);
  try {
    while (await stdin.read(buffer) !== null) {
      // nothing is sent on the lifeline; anything that is does not matter
    }
  } catch {
    // a broken pipe: the launcher is gone as well
  }
}
