/**
 * The commands that add the local CA to each trust store by hand: what `--dont-install-cert`
 * prints, and what an install that could not finish tells the user to run. Builds strings
 * only; nothing here runs a command.
 *
 * @example
 * ```ts
 * import { manualTrustSteps } from "./manual_trust.ts";
 * const steps = await manualTrustSteps("C:\\orygate\\ca.pem", { os: "windows", env: {} });
 * steps[0].command; // "certutil -addstore -f ROOT C:\\orygate\\ca.pem (in a Command Prompt run as administrator)"
 * ```
 *
 * @module
 */
import { posix } from "node:path";
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
  type TrustStoreOptions,
} from "./trust_locations.ts";

/** One trust store and the command that adds the CA to it by hand. */
export interface ManualTrustStep {
  /** A human name, as in `TrustStoreResult.name` (`trust_store.ts`). */
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
 * import { manualTrustSteps } from "./manual_trust.ts";
 * const steps = await manualTrustSteps("C:\\orygate\\ca.pem", { os: "windows", env: {} });
 * steps[0].command; // "certutil -addstore -f ROOT C:\\orygate\\ca.pem (in a Command Prompt run as administrator)"
 * ```
 */
export async function manualTrustSteps(
  caFile: string,
  options: TrustStoreOptions = {},
): Promise<ManualTrustStep[]> {
  const os = options.os ?? Deno.build.os;
  const where = { os, home: homeDir(os, options.env ?? Deno.env.toObject()) };
  const nickname = options.nickname ?? DEFAULT_NICKNAME;
  const stores = new Set(options.stores ?? ["nss", "firefox", "system"]);
  const steps: ManualTrustStep[] = [];
  if (stores.has("nss")) {
    for (const db of nssDatabases(where, options.nssDbDir)) {
      if (!db.create && !(await pathExists(db.dir))) continue;
      const needsDb = db.create && !(await pathExists(posix.join(db.dir, "cert9.db")));
      steps.push({ name: db.name, command: nssManualCommand(db.dir, needsDb, nickname, caFile) });
    }
  }
  if (stores.has("firefox")) {
    const roots = options.firefoxProfileRoots ?? firefoxProfileRoots(where);
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
      const store = await findLinuxSystemStore(options.linuxSystemStores ?? LINUX_SYSTEM_STORES);
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

/** `certutil`'s arguments that add `caFile` to the NSS database `db` as a trusted CA. */
export function nssAddArgs(db: string, nickname: string, caFile: string): string[] {
  return ["-d", db, "-A", "-t", "C,,", "-n", nickname, "-i", caFile];
}

/** The shell command that adds the CA to the NSS database in `dir` (creating it if needed). */
export function nssManualCommand(
  dir: string,
  needsDb: boolean,
  nickname: string,
  caFile: string,
): string {
  const db = `sql:${dir}`;
  return (needsDb ? `mkdir -p ${quote(dir)} && ` : "") +
    (needsDb ? `certutil -d ${quote(db)} -N --empty-password && ` : "") +
    ["certutil", ...nssAddArgs(db, nickname, caFile)].map(quote).join(" ");
}

/** The shell command that copies the CA into a Linux anchor directory and rebuilds the bundle. */
export function linuxManualCommand(caFile: string, store: LinuxSystemStore): string {
  const target = posix.join(store.anchorDir, store.fileName);
  return `sudo cp ${quote(caFile)} ${quote(target)} && sudo ` + store.update.map(quote).join(" ");
}

/** The shell command that trusts the CA in the macOS System keychain. */
export function macOsManualCommand(caFile: string): string {
  return "sudo security add-trusted-cert -d -r trustRoot -k " +
    `/Library/Keychains/System.keychain ${quote(caFile)}`;
}

/** The Command Prompt command that adds the CA to the Windows ROOT store. */
export function windowsManualCommand(caFile: string): string {
  return `certutil -addstore -f ROOT ${
    winQuote(caFile)
  } (in a Command Prompt run as administrator)`;
}

/** Quotes one word for a POSIX shell, only when it needs it. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function winQuote(word: string): string {
  return /[\s"]/.test(word) ? `"${word.replace(/"/g, '""')}"` : word;
}
