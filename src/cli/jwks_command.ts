/**
 * `orygate jwks create` and `orygate jwks rotate <file> [--force]`: JWK Sets for many
 * instances (a Kubernetes Secret given as `ORYGATE_JWKS`). Both print the private set on
 * standard output; `rotate --force` rewrites the file instead, in one rename, so a reader
 * never sees half a file.
 *
 * @example
 * ```ts ignore
 * addJwksCommand(program, { stdout: console.log, stderr: console.error, ran: () => {} });
 * ```
 */
import type { Command } from "commander";
import { ConfigError } from "../errors.ts";
import { createJwkSetText, rotateJwkSetText } from "../jwt/rotate.ts";

/** Where the commands write, and how they tell the CLI that they ran. */
export interface JwksCommandIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Called once a command finished (its errors are thrown as ConfigError: exit 2). */
  readonly ran: () => void;
}

const EXAMPLES = `
Examples:
  $ orygate jwks create > jwks.json
  $ kubectl create secret generic orygate-jwks --from-file=jwks.json
  $ orygate jwks rotate jwks.json > jwks.next.json
  $ orygate jwks rotate jwks.json --force
`;

/** Adds `jwks create` and `jwks rotate` to `program`. */
export function addJwksCommand(program: Command, io: JwksCommandIo): void {
  const jwks = program.command("jwks")
    .description("Make and rotate JWK Sets shared by several orygate instances")
    .addHelpText("after", EXAMPLES);
  jwks.command("create")
    .description("print a new private JWK Set (one ES256 key with kid) for --jwks / ORYGATE_JWKS")
    .action(async () => {
      io.stdout(await createJwkSetText());
      io.ran();
    });
  jwks.command("rotate")
    .description(
      "print the set with a new signing key first and the old keys kept for verification",
    )
    .argument("<file>", "the JWK Set file to rotate")
    .option("--force", "rewrite the file instead of printing the new set")
    .action(async (file: string, options: { force?: boolean }) => {
      let text: string;
      try {
        text = await Deno.readTextFile(file);
      } catch (err) {
        throw new ConfigError(`Cannot read ${file}: ${(err as Error).message}`);
      }
      const rotated = await rotateJwkSetText(file, text);
      if (options.force) {
        await replaceFile(file, rotated.text);
        io.stderr(
          `orygate: rotated ${file}: kid ${rotated.kid} signs now; ${rotated.count - 1} older ` +
            `key(s) kept for verification\n`,
        );
      } else {
        io.stdout(rotated.text);
      }
      io.ran();
    });
}

/** Writes `text` over `file` through a temporary file and a rename, keeping its mode. */
async function replaceFile(file: string, text: string): Promise<void> {
  const cannot = (why: string) => new ConfigError(`Cannot rewrite ${file}: ${why}`);
  const mode = (await Deno.stat(file)).mode ?? 0o600;
  // root may write anywhere; a file without its owner's write bit means "leave it alone".
  if ((mode & 0o200) === 0) throw cannot("it is read-only (print the new set instead)");
  const temp = `${file}.orygate-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode: mode & 0o777 });
    await Deno.chmod(temp, mode & 0o777);
    await Deno.rename(temp, file);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw cannot((err as Error).message);
  }
}
