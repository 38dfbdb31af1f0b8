/**
 * Installs the local CA into the trust stores browsers and tools read: NSS databases (Chrome and
 * Chromium on Linux, every Firefox profile) through `certutil`, and the operating system's store
 * where this process may write it. Idempotent: a store that already holds this very CA under
 * orygate's nickname is left alone. Every step runs through an injected
 * {@linkcode CommandRunner}, and the outcome is a {@linkcode TrustReport} saying, store by store,
 * what was done and, for what was not, why and the command that would do it by hand
 * (`manual_trust.ts`). Where the stores are is `trust_locations.ts`'s business.
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
import { type CommandResult, type CommandRunner, runCommand } from "./command_runner.ts";
import {
  linuxManualCommand,
  macOsManualCommand,
  nssAddArgs,
  nssManualCommand,
  windowsManualCommand,
} from "./manual_trust.ts";
import {
  DEFAULT_NICKNAME,
  findFirefoxProfiles,
  findLinuxSystemStore,
  firefoxProfileRoots,
  homeDir,
  LINUX_SYSTEM_STORES,
  type LinuxSystemStore,
  nssDatabases,
  pathExists,
  type TrustStoreKind,
  type TrustStoreOptions,
} from "./trust_locations.ts";

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

/** Options of {@linkcode installCaCertificate}; every effect can be replaced for tests. */
export interface InstallCaOptions extends TrustStoreOptions {
  /** Runs `certutil`, `security`, `update-ca-certificates`…; defaults to {@linkcode runCommand}. */
  run?: CommandRunner;
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
    home: homeDir(os, env),
    nickname: options.nickname ?? DEFAULT_NICKNAME,
    run: options.run ?? runCommand,
    isRoot: options.isRoot ?? (os !== "windows" && isRootUser()),
    certutilMissing: false,
  };
  const stores = new Set(options.stores ?? ["nss", "firefox", "system"]);
  const results: TrustStoreResult[] = [];
  if (stores.has("nss")) {
    for (const db of nssDatabases(ctx, options.nssDbDir)) {
      if (!db.create && !(await pathExists(db.dir))) continue;
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
  const needsDb = create && !(await pathExists(posix.join(dir, "cert9.db")));
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
  const madeDir = needsDb && !(await pathExists(dir));
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
  const store = await findLinuxSystemStore(stores);
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
