/** Runs the `openssl` command line (an independent check of the certificates orygate makes). */

/** Runs `openssl <args>` with optional stdin; returns the exit code and stdout+stderr. */
export async function openssl(
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("openssl", {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return { code, out: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

/** Like {@linkcode openssl} but throws on a non-zero exit and returns the text. */
export async function opensslOk(args: string[], stdin?: string): Promise<string> {
  const { code, out } = await openssl(args, stdin);
  if (code !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${out}`);
  return out;
}
