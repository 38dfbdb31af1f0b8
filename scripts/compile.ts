/**
 * Builds the stand-alone binaries: `deno compile` once per target into
 * `dist/orygate-<target>[.exe]`, then `dist/SHA256SUMS` (the format `sha256sum -c` reads).
 *
 * ```sh
 * deno task compile                                   # every target
 * deno task compile --target x86_64-unknown-linux-gnu # a subset (repeatable)
 * deno task compile --dry-run                         # print the commands only
 * ```
 *
 * `deno compile` downloads the runtime (`denort`) for each target once, then caches it.
 *
 * @module
 */
import {
  PERMISSION_FLAGS,
  readProjectFacts,
  ROOT,
  unstableFlags,
  V8_FLAGS,
} from "./_deno_flags.ts";

/** The targets a release ships. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One of {@linkcode TARGETS}. */
export type Target = (typeof TARGETS)[number];

/** The program compiled, relative to the repository root. */
export const ENTRY = "src/main.ts";

/** Where binaries go by default, relative to the repository root. */
export const DEFAULT_OUT_DIR = "dist";

/** True when `value` is a target a release ships. */
export function isTarget(value: string): value is Target {
  return (TARGETS as readonly string[]).includes(value);
}

/** The binary's file name: `orygate-<target>`, with `.exe` for Windows. */
export function binaryName(target: Target): string {
  return `orygate-${target}${target.includes("-windows-") ? ".exe" : ""}`;
}

/** What {@linkcode compileArgs} needs besides the target. */
export interface CompileArgsOptions {
  /** Output directory, relative to the working directory. */
  readonly outDir: string;
  /** `deno.json`'s unstable features. */
  readonly unstable: readonly string[];
  /** The program; default {@linkcode ENTRY}. */
  readonly entry?: string;
}

/** The arguments after `deno` that compile one target. */
export function compileArgs(target: Target, options: CompileArgsOptions): string[] {
  return [
    "compile",
    ...PERMISSION_FLAGS,
    // deno.json's "unstable" is honoured by compile too; passing it keeps the command explicit.
    ...unstableFlags(options.unstable),
    // Baked into the binary, as the npm launcher passes them.
    ...V8_FLAGS,
    // Embed only npm packages the program imports (not the test-only browser driver).
    "--exclude-unused-npm",
    "--target",
    target,
    "--output",
    `${options.outDir.replace(/\/+$/, "")}/${binaryName(target)}`,
    options.entry ?? ENTRY,
  ];
}

/** The parsed command line of this script. */
export interface CompileOptions {
  readonly targets: readonly Target[];
  readonly dryRun: boolean;
  readonly outDir: string;
  readonly help: boolean;
}

/** Parses `--target <t>` (repeatable), `--dry-run`, `--out-dir <dir>` and `--help`. */
export function parseCompileArgs(argv: readonly string[]): CompileOptions {
  const targets: Target[] = [];
  let dryRun = false;
  let help = false;
  let outDir = DEFAULT_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith("--") && argv[i].includes("=")
      ? [argv[i].slice(0, argv[i].indexOf("=")), argv[i].slice(argv[i].indexOf("=") + 1)]
      : [argv[i], undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new Error(`Cannot use ${flag}: it needs a value`);
      return v;
    };
    switch (flag) {
      case "--target": {
        const target = value();
        if (!isTarget(target)) {
          const known = TARGETS.join(", ");
          throw new Error(`Cannot compile for "${target}": not a release target (use ${known})`);
        }
        if (!targets.includes(target)) targets.push(target);
        break;
      }
      case "--out-dir":
        outDir = value();
        break;
      case "--dry-run":
        dryRun = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new Error(`Cannot use "${argv[i]}": unknown option (see --help)`);
    }
  }
  return { targets: targets.length > 0 ? targets : [...TARGETS], dryRun, outDir, help };
}

/** One binary and its digest. */
export interface Checksum {
  /** File name (no directory), as listed in SHA256SUMS. */
  readonly name: string;
  /** Lower-case hex SHA-256. */
  readonly sha256: string;
}

/** The SHA256SUMS text: `<hex>  <name>` per line, sorted by name, as `sha256sum` writes it. */
export function formatChecksums(entries: readonly Checksum[]): string {
  return [...entries]
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
    .map(({ name, sha256 }) => {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`Not a SHA-256 hex digest: ${sha256}`);
      if (/[\s/\\]/.test(name)) throw new Error(`Not a plain file name: ${JSON.stringify(name)}`);
      return `${sha256}  ${name}\n`;
    })
    .join("");
}

/** The lower-case hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Quotes arguments for display as one shell command line. */
export function shellLine(args: readonly string[]): string {
  return args.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

const USAGE = `Usage: deno task compile [--target <target>]... [--out-dir <dir>] [--dry-run]

Compiles orygate into stand-alone binaries <dir>/orygate-<target>[.exe] (default dir: dist)
and writes <dir>/SHA256SUMS for the binaries built.

Targets: ${TARGETS.join(", ")}
`;

async function main(argv: readonly string[]): Promise<number> {
  let options: CompileOptions;
  try {
    options = parseCompileArgs(argv);
  } catch (err) {
    console.error(`compile: ${(err as Error).message}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const { unstable } = await readProjectFacts();
  const deno = Deno.execPath();
  const cwd = ROOT.pathname;
  const built: Checksum[] = [];
  if (!options.dryRun) await Deno.mkdir(new URL(`${options.outDir}/`, ROOT), { recursive: true });
  for (const target of options.targets) {
    const args = compileArgs(target, { outDir: options.outDir, unstable });
    console.log(`$ ${shellLine([deno, ...args])}`);
    if (options.dryRun) continue;
    const { code } = await new Deno.Command(deno, { args, cwd, stdin: "null" }).spawn().status;
    if (code !== 0) {
      console.error(`compile: Cannot compile for ${target}: deno compile exited with ${code}`);
      return 1;
    }
    const name = binaryName(target);
    const bytes = await Deno.readFile(new URL(`${options.outDir}/${name}`, ROOT));
    built.push({ name, sha256: await sha256Hex(bytes) });
    console.log(`  ${name}: ${(bytes.byteLength / 1024 / 1024).toFixed(1)} MiB`);
  }
  const sums = `${options.outDir.replace(/\/+$/, "")}/SHA256SUMS`;
  if (options.dryRun) {
    console.log(`# then: sha256 of each binary into ${sums}`);
    return 0;
  }
  await Deno.writeTextFile(new URL(sums, ROOT), formatChecksums(built));
  console.log(`wrote ${sums} (${built.length} binaries)`);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
