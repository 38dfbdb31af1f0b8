/**
 * Installs the local CA into the trust stores browsers and tools read: NSS databases (Chrome and
 * Chromium on Linux, every Firefox profile) through `certutil`, and the operating system's store
 * where this process may write it. Idempotent: a store that already holds this very CA under
 * orygate's nickname is left alone. Every step runs through an injected
 * {@linkcode CommandRunner}, and the outcome is a {@linkcode TrustReport} saying, store by store,
 * what was done and, for what was not, why and the command that would do it by hand.
 *
 * @example
 * ```ts
 * import { installCaCertificate, trustReportLines } from "./trust_store.ts";
 * const caFile = "/home/ada/.config/orygate/ca.pem";
 * if (await Deno.stat(caFile).then(() => true, () => false)) {
 *   const report = await installCaCertificate(caFile);
 *   for (const line of trustReportLines(report)) console.log(line);
 * }
 * ```
 */
import { posix } from "node:path";
import { ConfigError } from "../errors.ts";
import { type Bytes, fromPem, toHex } from "./_der.ts";

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
 * import { runCommand } from "./trust_store.ts";
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

/** The kinds of trust store orygate knows. */
export type TrustStoreKind = "nss" | "firefox" | "system";

/** How one store ended up. */
export type TrustStatus = "installed" | "already-installed" | "skipped" | "failed";

/** The outcome for one store. */
export interface TrustStoreResult {
  /** Which kind of store. */
  kind: TrustStoreKind;
  /** A human name, e.g. `NSS database (Chrome, Chromium)` or `Firefox profile default-release`. */
  name: string;
  /** Where the store is: a directory, a keychain, `ROOT`. */
  location: string;
  /** What happened. */
  status: TrustStatus;
  /** Why it was skipped or failed (or a note on an install, such as a replaced older CA). */
  reason?: string;
  /** For a store that was skipped or failed: the command that installs the CA by hand. */
  manualCommand?: string;
}

/** What {@linkcode installCaCertificate} did, store by store. */
export interface TrustReport {
  /** The CA certificate file that was installed. */
  caFile: string;
  /** The nickname (label) used in NSS databases. */
  nickname: string;
  /** One entry per store found, in the order they were tried. */
  results: TrustStoreResult[];
}

/** A Linux distribution's anchor directory and the command that rebuilds its bundle. */
export interface LinuxSystemStore {
  /** The directory the CA file is copied into. */
  anchorDir: string;
  /** The file name used inside it. */
  fileName: string;
  /** The program and arguments that rebuild the system bundle. */
  update: readonly [string, ...string[]];
}

/**
 * Known Linux system stores, tried in order; the first whose directory exists is used.
 *
 * @example
 * ```ts
 * import { LINUX_SYSTEM_STORES } from "./trust_store.ts";
 * LINUX_SYSTEM_STORES[0].update[0]; // "update-ca-certificates"
 * ```
 */
export const LINUX_SYSTEM_STORES: readonly LinuxSystemStore[] = [
  // Debian, Ubuntu, Alpine
  {
    anchorDir: "/usr/local/share/ca-certificates",
    fileName: "orygate-local-ca.crt",
    update: ["update-ca-certificates"],
  },
  // Fedora, RHEL, CentOS
  {
    anchorDir: "/etc/pki/ca-trust/source/anchors",
    fileName: "orygate-local-ca.pem",
    update: ["update-ca-trust", "extract"],
  },
  // Arch
  {
    anchorDir: "/etc/ca-certificates/trust-source/anchors",
    fileName: "orygate-local-ca.crt",
    update: ["trust", "extract-compat"],
  },
  // openSUSE
  {
    anchorDir: "/usr/share/pki/trust/anchors",
    fileName: "orygate-local-ca.pem",
    update: ["update-ca-certificates"],
  },
];

/** The nickname orygate's CA gets in NSS databases. */
export const DEFAULT_NICKNAME = "orygate local development CA";

/** Options of {@linkcode installCaCertificate}; every effect can be replaced for tests. */
export interface InstallCaOptions {
  /** Runs `certutil`, `security`, `update-ca-certificates`…; defaults to {@linkcode runCommand}. */
  run?: CommandRunner;
  /** Which kinds of store to try; defaults to all. */
  stores?: readonly TrustStoreKind[];
  /** Operating system; defaults to `Deno.build.os`. */
  os?: typeof Deno.build.os;
  /** Environment (for `HOME`); defaults to `Deno.env.toObject()`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** NSS nickname; defaults to {@linkcode DEFAULT_NICKNAME}. */
  nickname?: string;
  /**
   * The shared NSS database to use, created when missing. Defaults on Linux to
   * `$HOME/.pki/nssdb` (plus the Chromium snap's database when it exists); elsewhere to none.
   */
  nssDbDir?: string;
  /** Directories whose subdirectories are Firefox profiles; defaults per operating system. */
  firefoxProfileRoots?: readonly string[];
  /** Linux system stores to look for; defaults to {@linkcode LINUX_SYSTEM_STORES}. */
  linuxSystemStores?: readonly LinuxSystemStore[];
  /** Whether this process runs as root; defaults to `Deno.uid() === 0`. */
  isRoot?: boolean;
}

/**
 * Installs the CA certificate in `caFile` into every trust store found and reports the outcome.
 * It never throws for a store that cannot be written; it throws a `ConfigError` only when
 * `caFile` itself cannot be read.
 *
 * @example
 * ```ts
 * import { installCaCertificate } from "./trust_store.ts";
 * import { loadOrCreateLocalCa } from "./local_ca.ts";
 * const dir = await Deno.makeTempDir();
 * const ca = await loadOrCreateLocalCa(dir);
 * const report = await installCaCertificate(ca.certFile, {
 *   stores: ["nss"],
 *   nssDbDir: `${dir}/nssdb`,
 *   run: () => Promise.reject(new Deno.errors.NotFound("certutil")),
 * });
 * report.results[0].status; // "skipped" (certutil is not installed)
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function installCaCertificate(
  caFile: string,
  options: InstallCaOptions = {},
): Promise<TrustReport> {
  const caPem = await Deno.readTextFile(caFile).catch((error) => {
    throw new ConfigError(`Cannot read the CA certificate ${caFile}: ${error.message}`, {
      cause: error,
    });
  });
  const [caDer] = fromPem("CERTIFICATE", caPem);
  if (!caDer) throw new ConfigError(`Cannot install ${caFile}: it holds no PEM certificate`);
  const os = options.os ?? Deno.build.os;
  const env = options.env ?? Deno.env.toObject();
  const ctx: Context = {
    caFile,
    caDer,
    caPem,
    os,
    home: (os === "windows" ? env.USERPROFILE : env.HOME) ?? "",
    nickname: options.nickname ?? DEFAULT_NICKNAME,
    run: options.run ?? runCommand,
    isRoot: options.isRoot ?? (os !== "windows" && isRootUser()),
    certutilMissing: false,
  };
  const stores = new Set(options.stores ?? ["nss", "firefox", "system"]);
  const results: TrustStoreResult[] = [];
  if (stores.has("nss")) {
    for (const db of nssDatabases(ctx, options.nssDbDir)) {
      if (!db.create && !(await exists(db.dir))) continue;
      results.push(await installIntoNss(ctx, "nss", db.name, db.dir, db.create));
    }
  }
  if (stores.has("firefox")) {
    const roots = options.firefoxProfileRoots ?? firefoxProfileRoots(ctx);
    for (const profile of await findFirefoxProfiles(roots)) {
      const name = `Firefox profile ${posix.basename(profile.dir)}`;
      results.push(
        profile.legacy
          ? {
            kind: "firefox",
            name,
            location: profile.dir,
            status: "skipped",
            reason: "the profile uses the old cert8.db format; open it once in a current Firefox",
          }
          : await installIntoNss(ctx, "firefox", name, profile.dir, false),
      );
    }
  }
  if (stores.has("system")) {
    results.push(await installIntoSystem(ctx, options.linuxSystemStores ?? LINUX_SYSTEM_STORES));
  }
  return { caFile, nickname: ctx.nickname, results };
}

/**
 * Renders a {@linkcode TrustReport} as lines for a terminal: one per store, then the commands
 * to run by hand for the stores that were not done.
 *
 * @example
 * ```ts
 * import { trustReportLines } from "./trust_store.ts";
 * trustReportLines({
 *   caFile: "/tmp/ca.pem",
 *   nickname: "orygate local development CA",
 *   results: [{
 *     kind: "system", name: "system trust store", location: "/usr/local/share/ca-certificates",
 *     status: "skipped", reason: "needs root",
 *     manualCommand: "sudo cp /tmp/ca.pem /usr/local/share/ca-certificates/orygate-local-ca.crt",
 *   }],
 * })[0];
 * // "✗ system trust store (/usr/local/share/ca-certificates): skipped: needs root"
 * ```
 */
export function trustReportLines(report: TrustReport): string[] {
  const mark: Record<TrustStatus, string> = {
    "installed": "✓",
    "already-installed": "✓",
    "skipped": "✗",
    "failed": "✗",
  };
  const lines = report.results.map((r) =>
    `${mark[r.status]} ${r.name} (${r.location}): ${r.status.replace("-", " ")}` +
    (r.reason ? `: ${r.reason}` : "")
  );
  const manual = report.results.filter((r) => r.manualCommand);
  if (manual.length > 0) {
    lines.push("To trust the local CA there by hand, run:");
    for (const r of manual) lines.push(`  ${r.manualCommand}`);
  }
  if (report.results.length === 0) lines.push(`No trust store found for ${report.caFile}`);
  return lines;
}

/** One trust store and the command that adds the CA to it by hand. */
export interface ManualTrustStep {
  /** A human name, as in {@linkcode TrustStoreResult.name}. */
  name: string;
  /** The command to run (a shell command; on Windows, for a Command Prompt). */
  command: string;
}

/**
 * The commands that would add `caFile` to each trust store of this operating system, without
 * running anything: what `--dont-install-cert` prints. Linux: the shared NSS database
 * (Chrome, Chromium), each Firefox profile found, and the system store (its anchor directory and
 * update command, or p11-kit's `trust anchor` when no known directory exists); macOS: Firefox
 * profiles and the System keychain; Windows: the ROOT store.
 *
 * @example
 * ```ts
 * import { manualTrustSteps } from "./trust_store.ts";
 * const steps = await manualTrustSteps("C:\\orygate\\ca.pem", { os: "windows", env: {} });
 * steps[0].command; // "certutil -addstore -f ROOT C:\\orygate\\ca.pem (in a Command Prompt run as administrator)"
 * ```
 */
export async function manualTrustSteps(
  caFile: string,
  options: Omit<InstallCaOptions, "run" | "isRoot"> = {},
): Promise<ManualTrustStep[]> {
  const os = options.os ?? Deno.build.os;
  const env = options.env ?? Deno.env.toObject();
  const home = (os === "windows" ? env.USERPROFILE : env.HOME) ?? "";
  const nickname = options.nickname ?? DEFAULT_NICKNAME;
  const stores = new Set(options.stores ?? ["nss", "firefox", "system"]);
  const ctx = { os, home };
  const steps: ManualTrustStep[] = [];
  if (stores.has("nss")) {
    for (const db of nssDatabases(ctx, options.nssDbDir)) {
      if (!db.create && !(await exists(db.dir))) continue;
      const needsDb = db.create && !(await exists(posix.join(db.dir, "cert9.db")));
      steps.push({ name: db.name, command: nssManualCommand(db.dir, needsDb, nickname, caFile) });
    }
  }
  if (stores.has("firefox")) {
    const roots = options.firefoxProfileRoots ?? firefoxProfileRoots(ctx);
    for (const profile of await findFirefoxProfiles(roots)) {
      if (profile.legacy) continue;
      steps.push({
        name: `Firefox profile ${posix.basename(profile.dir)}`,
        command: nssManualCommand(profile.dir, false, nickname, caFile),
      });
    }
  }
  if (stores.has("system")) {
    if (os === "linux") {
      let store: LinuxSystemStore | undefined;
      for (const candidate of options.linuxSystemStores ?? LINUX_SYSTEM_STORES) {
        if (await exists(candidate.anchorDir)) {
          store = candidate;
          break;
        }
      }
      steps.push(
        store
          ? {
            name: `system trust store (${store.update[0]})`,
            command: linuxManualCommand(caFile, store),
          }
          : {
            name: "system trust store (p11-kit)",
            command: `sudo trust anchor --store ${quote(caFile)}`,
          },
      );
    } else if (os === "darwin") {
      steps.push({ name: "macOS keychain", command: macOsManualCommand(caFile) });
    } else if (os === "windows") {
      steps.push({ name: "Windows root store", command: windowsManualCommand(caFile) });
    }
  }
  return steps;
}

interface Context {
  caFile: string;
  caDer: Bytes;
  caPem: string;
  os: typeof Deno.build.os;
  home: string;
  nickname: string;
  run: CommandRunner;
  isRoot: boolean;
  /** Set once `certutil` turned out to be absent, so it is not looked for again. */
  certutilMissing: boolean;
}

interface NssDatabase {
  name: string;
  dir: string;
  create: boolean;
}

function nssDatabases(
  ctx: Pick<Context, "os" | "home">,
  override: string | undefined,
): NssDatabase[] {
  const name = "NSS database (Chrome, Chromium)";
  if (override !== undefined) return [{ name, dir: override, create: true }];
  if (ctx.os !== "linux" || !ctx.home) return [];
  return [
    { name, dir: posix.join(ctx.home, ".pki", "nssdb"), create: true },
    {
      name: "NSS database (Chromium snap)",
      dir: posix.join(ctx.home, "snap", "chromium", "current", ".pki", "nssdb"),
      create: false,
    },
  ];
}

function firefoxProfileRoots(ctx: Pick<Context, "os" | "home">): string[] {
  if (!ctx.home) return [];
  if (ctx.os === "darwin") {
    return [posix.join(ctx.home, "Library", "Application Support", "Firefox", "Profiles")];
  }
  // On Windows certutil is Microsoft's, not NSS's; Firefox there can read the Windows store.
  if (ctx.os === "windows") return [];
  return [
    posix.join(ctx.home, ".mozilla", "firefox"),
    posix.join(ctx.home, "snap", "firefox", "common", ".mozilla", "firefox"),
    posix.join(ctx.home, ".var", "app", "org.mozilla.firefox", ".mozilla", "firefox"),
  ];
}

async function findFirefoxProfiles(
  roots: readonly string[],
): Promise<{ dir: string; legacy: boolean }[]> {
  const profiles: { dir: string; legacy: boolean }[] = [];
  for (const root of roots) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(root));
    } catch {
      continue;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (!entry.isDirectory) continue;
      const dir = posix.join(root, entry.name);
      if (await exists(posix.join(dir, "cert9.db"))) profiles.push({ dir, legacy: false });
      else if (await exists(posix.join(dir, "cert8.db"))) profiles.push({ dir, legacy: true });
    }
  }
  return profiles;
}

const CERTUTIL_HINT = "certutil is not installed (Debian/Ubuntu: sudo apt install " +
  "libnss3-tools; Fedora: sudo dnf install nss-tools; macOS: brew install nss)";

async function installIntoNss(
  ctx: Context,
  kind: "nss" | "firefox",
  name: string,
  dir: string,
  create: boolean,
): Promise<TrustStoreResult> {
  const db = `sql:${dir}`;
  const addArgs = nssAddArgs(db, ctx.nickname, ctx.caFile);
  const needsDb = create && !(await exists(posix.join(dir, "cert9.db")));
  const manualCommand = nssManualCommand(dir, needsDb, ctx.nickname, ctx.caFile);
  const base = { kind, name, location: dir };
  const skipped = (reason: string): TrustStoreResult => ({
    ...base,
    status: "skipped",
    reason,
    manualCommand,
  });
  const failed = (what: string, result: CommandResult): TrustStoreResult => ({
    ...base,
    status: "failed",
    reason: `${what} exited with ${result.code}${describeOutput(result)}`,
    manualCommand,
  });
  if (ctx.certutilMissing) return skipped(CERTUTIL_HINT);
  const madeDir = needsDb && !(await exists(dir));
  try {
    if (needsDb) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      const made = await ctx.run("certutil", ["-d", db, "-N", "--empty-password"]);
      if (made.code !== 0) return failed("certutil -N (create the database)", made);
    }
    const listed = await ctx.run("certutil", ["-d", db, "-L", "-n", ctx.nickname, "-a"]);
    let note: string | undefined;
    if (listed.code === 0) {
      if (fromPem("CERTIFICATE", listed.stdout).some((der) => sameBytes(der, ctx.caDer))) {
        return { ...base, status: "already-installed" };
      }
      // The nickname holds another certificate: an earlier orygate CA. Replace it.
      for (let i = 0; i < 10; i++) {
        const deleted = await ctx.run("certutil", ["-d", db, "-D", "-n", ctx.nickname]);
        if (deleted.code !== 0) break;
      }
      note = "replaced an older orygate CA";
    }
    const added = await ctx.run("certutil", addArgs);
    if (added.code !== 0) return failed("certutil -A", added);
    return { ...base, status: "installed", reason: note };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      // Leave no empty database folder behind for a tool that is not there.
      if (madeDir) await Deno.remove(dir).catch(() => {});
      ctx.certutilMissing = true;
      return skipped(CERTUTIL_HINT);
    }
    return { ...base, status: "failed", reason: (error as Error).message, manualCommand };
  }
}

function nssAddArgs(db: string, nickname: string, caFile: string): string[] {
  return ["-d", db, "-A", "-t", "C,,", "-n", nickname, "-i", caFile];
}

/** The shell command that adds the CA to the NSS database in `dir` (creating it if needed). */
function nssManualCommand(dir: string, needsDb: boolean, nickname: string, caFile: string) {
  const db = `sql:${dir}`;
  return (needsDb ? `mkdir -p ${quote(dir)} && ` : "") +
    (needsDb ? `certutil -d ${quote(db)} -N --empty-password && ` : "") +
    ["certutil", ...nssAddArgs(db, nickname, caFile)].map(quote).join(" ");
}

function linuxManualCommand(caFile: string, store: LinuxSystemStore): string {
  const target = posix.join(store.anchorDir, store.fileName);
  return `sudo cp ${quote(caFile)} ${quote(target)} && sudo ` + store.update.map(quote).join(" ");
}

function macOsManualCommand(caFile: string): string {
  return "sudo security add-trusted-cert -d -r trustRoot -k " +
    `/Library/Keychains/System.keychain ${quote(caFile)}`;
}

function windowsManualCommand(caFile: string): string {
  return `certutil -addstore -f ROOT ${
    winQuote(caFile)
  } (in a Command Prompt run as administrator)`;
}

async function installIntoSystem(
  ctx: Context,
  linuxStores: readonly LinuxSystemStore[],
): Promise<TrustStoreResult> {
  switch (ctx.os) {
    case "linux":
      return await installIntoLinux(ctx, linuxStores);
    case "darwin":
      return await installIntoMacOs(ctx);
    case "windows":
      return await installIntoWindows(ctx);
    default:
      return {
        kind: "system",
        name: "system trust store",
        location: ctx.os,
        status: "skipped",
        reason: `orygate does not know the system trust store of ${ctx.os}`,
      };
  }
}

async function installIntoLinux(
  ctx: Context,
  stores: readonly LinuxSystemStore[],
): Promise<TrustStoreResult> {
  let store: LinuxSystemStore | undefined;
  for (const candidate of stores) {
    if (await exists(candidate.anchorDir)) {
      store = candidate;
      break;
    }
  }
  if (!store) {
    return {
      kind: "system",
      name: "system trust store",
      location: stores.map((s) => s.anchorDir).join(", ") || "none",
      status: "skipped",
      reason: "no known system trust store directory exists",
    };
  }
  const target = posix.join(store.anchorDir, store.fileName);
  const base = {
    kind: "system" as const,
    name: `system trust store (${store.update[0]})`,
    location: target,
  };
  const manualCommand = linuxManualCommand(ctx.caFile, store);
  const current = await Deno.readTextFile(target).catch(() => undefined);
  if (current !== undefined && samePem(current, ctx.caDer)) {
    return { ...base, status: "already-installed" };
  }
  if (!ctx.isRoot) {
    return { ...base, status: "skipped", reason: "writing it needs root", manualCommand };
  }
  try {
    await Deno.writeTextFile(target, ctx.caPem, { mode: 0o644 });
  } catch (error) {
    const denied = error instanceof Deno.errors.PermissionDenied;
    return {
      ...base,
      status: denied ? "skipped" : "failed",
      reason: denied ? "no permission to write it" : (error as Error).message,
      manualCommand,
    };
  }
  try {
    const [cmd, ...args] = store.update;
    const updated = await ctx.run(cmd, args);
    if (updated.code !== 0) {
      return {
        ...base,
        status: "failed",
        reason: `${store.update.join(" ")} exited with ${updated.code}${describeOutput(updated)}`,
        manualCommand,
      };
    }
  } catch (error) {
    return { ...base, status: "failed", reason: (error as Error).message, manualCommand };
  }
  return { ...base, status: "installed" };
}

async function installIntoMacOs(ctx: Context): Promise<TrustStoreResult> {
  // As root the admin trust domain (System keychain) applies to every user; otherwise the
  // user's own trust settings in the login keychain (macOS asks for the password).
  const keychain = ctx.isRoot
    ? "/Library/Keychains/System.keychain"
    : posix.join(ctx.home, "Library", "Keychains", "login.keychain-db");
  const addArgs = ctx.isRoot
    ? ["add-trusted-cert", "-d", "-r", "trustRoot", "-k", keychain, ctx.caFile]
    : ["add-trusted-cert", "-r", "trustRoot", "-k", keychain, ctx.caFile];
  const base = { kind: "system" as const, name: "macOS keychain", location: keychain };
  const manualCommand = macOsManualCommand(ctx.caFile);
  try {
    const verified = await ctx.run("security", ["verify-cert", "-c", ctx.caFile]);
    if (verified.code === 0) return { ...base, status: "already-installed" };
    const added = await ctx.run("security", addArgs);
    if (added.code !== 0) {
      return {
        ...base,
        status: "failed",
        reason: `security add-trusted-cert exited with ${added.code}${describeOutput(added)}`,
        manualCommand,
      };
    }
    return { ...base, status: "installed" };
  } catch (error) {
    return { ...base, status: "failed", reason: (error as Error).message, manualCommand };
  }
}

async function installIntoWindows(ctx: Context): Promise<TrustStoreResult> {
  const base = { kind: "system" as const, name: "Windows root store", location: "ROOT" };
  const manualCommand = windowsManualCommand(ctx.caFile);
  try {
    const thumbprint = toHex(new Uint8Array(await crypto.subtle.digest("SHA-1", ctx.caDer)));
    const found = await ctx.run("certutil", ["-store", "ROOT", thumbprint]);
    if (found.code === 0) return { ...base, status: "already-installed" };
    const added = await ctx.run("certutil", ["-addstore", "-f", "ROOT", ctx.caFile]);
    if (added.code !== 0) {
      return {
        ...base,
        status: "failed",
        reason: `certutil -addstore exited with ${added.code}${describeOutput(added)}` +
          " (adding to the machine store needs an administrator)",
        manualCommand,
      };
    }
    return { ...base, status: "installed" };
  } catch (error) {
    return { ...base, status: "failed", reason: (error as Error).message, manualCommand };
  }
}

function describeOutput(result: CommandResult): string {
  const text = (result.stderr.trim() || result.stdout.trim()).split("\n")[0]?.trim();
  return text ? `: ${text}` : "";
}

function samePem(pem: string, der: Bytes): boolean {
  return fromPem("CERTIFICATE", pem).some((block) => sameBytes(block, der));
}

function sameBytes(a: Bytes, b: Bytes): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function isRootUser(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false; // no --allow-sys: assume an ordinary user
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Quotes one word for a POSIX shell, only when it needs it. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function winQuote(word: string): string {
  return /[\s"]/.test(word) ? `"${word.replace(/"/g, '""')}"` : word;
}
