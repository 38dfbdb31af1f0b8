/**
 * Where the trust stores are on each operating system: the shared NSS databases (Chrome,
 * Chromium), Firefox profiles, and the Linux system stores' anchor directories. Both installing
 * the local CA (`trust_store.ts`) and printing the commands that would (`manual_trust.ts`) look
 * for stores here, so the two always name the same ones.
 *
 * @example
 * ```ts
 * import { findLinuxSystemStore, LINUX_SYSTEM_STORES } from "./trust_locations.ts";
 * const store = await findLinuxSystemStore(LINUX_SYSTEM_STORES);
 * console.log(store?.update.join(" ")); // "update-ca-certificates" on Debian
 * ```
 *
 * @module
 */
import { posix } from "node:path";

/** The kinds of trust store orygate knows. */
export type TrustStoreKind = "nss" | "firefox" | "system";

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
 * import { LINUX_SYSTEM_STORES } from "./trust_locations.ts";
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

/** Which trust stores to look for, where, and the CA's nickname in them; all optional. */
export interface TrustStoreOptions {
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
}

/** The user's home directory on `os` (`USERPROFILE` on Windows), or "" when unset. */
export function homeDir(
  os: typeof Deno.build.os,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return (os === "windows" ? env.USERPROFILE : env.HOME) ?? "";
}

/** An NSS database orygate may install into. */
export interface NssDatabase {
  name: string;
  dir: string;
  /** Created when missing (the shared one); otherwise used only when it exists. */
  create: boolean;
}

/** The shared NSS databases of `os`, or just `override` when given. */
export function nssDatabases(
  where: { readonly os: typeof Deno.build.os; readonly home: string },
  override: string | undefined,
): NssDatabase[] {
  const name = "NSS database (Chrome, Chromium)";
  if (override !== undefined) return [{ name, dir: override, create: true }];
  if (where.os !== "linux" || !where.home) return [];
  return [
    { name, dir: posix.join(where.home, ".pki", "nssdb"), create: true },
    {
      name: "NSS database (Chromium snap)",
      dir: posix.join(where.home, "snap", "chromium", "current", ".pki", "nssdb"),
      create: false,
    },
  ];
}

/** The directories that hold Firefox profiles on `os`. */
export function firefoxProfileRoots(
  where: { readonly os: typeof Deno.build.os; readonly home: string },
): string[] {
  if (!where.home) return [];
  if (where.os === "darwin") {
    return [posix.join(where.home, "Library", "Application Support", "Firefox", "Profiles")];
  }
  // On Windows certutil is Microsoft's, not NSS's; Firefox there can read the Windows store.
  if (where.os === "windows") return [];
  return [
    posix.join(where.home, ".mozilla", "firefox"),
    posix.join(where.home, "snap", "firefox", "common", ".mozilla", "firefox"),
    posix.join(where.home, ".var", "app", "org.mozilla.firefox", ".mozilla", "firefox"),
  ];
}

/** Firefox profiles under `roots`, sorted by name; `legacy` ones still use cert8.db. */
export async function findFirefoxProfiles(
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
      if (await pathExists(posix.join(dir, "cert9.db"))) profiles.push({ dir, legacy: false });
      else if (await pathExists(posix.join(dir, "cert8.db"))) profiles.push({ dir, legacy: true });
    }
  }
  return profiles;
}

/** The first of `stores` whose anchor directory exists. */
export async function findLinuxSystemStore(
  stores: readonly LinuxSystemStore[],
): Promise<LinuxSystemStore | undefined> {
  for (const candidate of stores) {
    if (await pathExists(candidate.anchorDir)) return candidate;
  }
  return undefined;
}

/** Whether anything exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
