/**
 * Running an external program (`certutil`, `security`, `update-ca-certificates`…) as an
 * injectable effect: the trust store code asks a {@linkcode CommandRunner}, tests hand it a fake.
 *
 * @example
 * ```ts
 * import { runCommand } from "./command_runner.ts";
 * const { code } = await runCommand("true", []).catch(() => ({ code: -1 }));
 * console.log(code); // 0 where `true` exists
 * ```
 *
 * @module
 */

/** What a command printed and how it ended. */
export interface CommandResult {
  /** Exit status. */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/**
 * Runs a program with arguments (no shell) and resolves with its {@linkcode CommandResult}.
 * When the program does not exist it rejects with `Deno.errors.NotFound`.
 */
export type CommandRunner = (cmd: string, args: readonly string[]) => Promise<CommandResult>;

/**
 * The real {@linkcode CommandRunner}: `Deno.Command` with no standard input (so a tool that
 * would prompt fails instead of waiting) and a one-minute limit per command.
 *
 * @example
 * ```ts
 * import { runCommand } from "./command_runner.ts";
 * const { code } = await runCommand("true", []).catch(() => ({ code: -1 }));
 * console.log(code); // 0 where `true` exists
 * ```
 */
export const runCommand: CommandRunner = async (cmd, args) => {
  const output = await new Deno.Command(cmd, {
    args: [...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
};
