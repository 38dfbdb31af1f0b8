/**
 * The local development certificate authority: created once, kept in a directory as `ca.pem`
 * and `ca-key.pem` (key mode 0600, a new directory 0700), and reused on every later start as
 * long as it parses, matches its key and is not about to expire.
 *
 * @example
 * ```ts
 * import { loadOrCreateLocalCa } from "./local_ca.ts";
 * const dir = await Deno.makeTempDir();
 * const first = await loadOrCreateLocalCa(dir);
 * const again = await loadOrCreateLocalCa(dir);
 * console.log(first.created, again.created, first.serialHex === again.serialHex); // true false true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
import { posix, win32 } from "node:path";
import { ConfigError } from "../errors.ts";
import {
  type Bytes,
  derBitString,
  derBoolean,
  derOctetString,
  derSequence,
  derSmallInteger,
  fromPem,
  toHex,
  toPem,
} from "./_der.ts";
import {
  ECDSA_P256,
  encodeExtension,
  encodeName,
  keyIdentifier,
  OID,
  parseCertificate,
  publicKeyBits,
  signCertificate,
} from "./_x509.ts";

/** File name of the CA certificate inside the CA directory. */
export const CA_CERT_FILE = "ca.pem";
/** File name of the CA private key (PKCS#8 PEM) inside the CA directory. */
export const CA_KEY_FILE = "ca-key.pem";

const DAY_MS = 86_400_000;
/** How long a new CA is valid: ten years. */
const CA_VALIDITY_MS = 3650 * DAY_MS;
/** A CA that expires sooner than this is replaced rather than reused. */
const CA_RENEW_BEFORE_MS = 30 * DAY_MS;
/** Certificates start this much in the past, to forgive clocks that disagree a little. */
const BACKDATE_MS = 3_600_000;

/** A usable local CA. */
export interface LocalCa {
  /** Directory holding the two files. */
  dir: string;
  /** Path of `ca.pem`. */
  certFile: string;
  /** Path of `ca-key.pem`. */
  keyFile: string;
  /** The CA certificate, PEM. */
  certPem: string;
  /** Serial number, lower-case hex (the DER integer's contents). */
  serialHex: string;
  /** DER Name of the CA: the issuer of every leaf it signs. */
  subject: Bytes;
  /** The CA's key identifier (for the leaves' authorityKeyIdentifier). */
  keyId: Bytes;
  /** End of the CA's validity; leaves never outlive it. */
  notAfter: Date;
  /** The CA's signing key. */
  privateKey: CryptoKey;
  /** True when this call made a new CA (none was there, or the old one was unusable). */
  created: boolean;
  /** Why an existing CA was replaced, when it was. */
  replacedBecause?: string;
}

/** Options of {@linkcode loadOrCreateLocalCa}. */
export interface LocalCaOptions {
  /** Clock; defaults to `() => new Date()`. */
  now?: () => Date;
  /** Host name put in the CA's name; defaults to `Deno.hostname()`. */
  hostname?: string;
}

/**
 * The platform's per-user configuration directory for orygate: `$XDG_CONFIG_HOME/orygate` or
 * `~/.config/orygate` (Linux and other Unixes), `~/Library/Application Support/orygate` (macOS),
 * `%APPDATA%\orygate` (Windows). Pure: the environment and OS come in as arguments.
 *
 * @example
 * ```ts
 * import { defaultConfigDir } from "./local_ca.ts";
 * defaultConfigDir({ HOME: "/home/ada" }, "linux"); // "/home/ada/.config/orygate"
 * defaultConfigDir({ HOME: "/Users/ada" }, "darwin");
 * // "/Users/ada/Library/Application Support/orygate"
 * defaultConfigDir({ APPDATA: "C:\\Users\\ada\\AppData\\Roaming" }, "windows");
 * // "C:\\Users\\ada\\AppData\\Roaming\\orygate"
 * ```
 */
export function defaultConfigDir(
  env: Readonly<Record<string, string | undefined>>,
  os: typeof Deno.build.os,
): string {
  if (os === "windows") {
    if (env.APPDATA) return win32.join(env.APPDATA, "orygate");
    if (env.USERPROFILE) return win32.join(env.USERPROFILE, "AppData", "Roaming", "orygate");
    throw new ConfigError(
      "Cannot find a directory for the local CA: neither APPDATA nor USERPROFILE is set",
    );
  }
  if (os === "darwin") {
    if (env.HOME) return posix.join(env.HOME, "Library", "Application Support", "orygate");
    throw new ConfigError("Cannot find a directory for the local CA: HOME is not set");
  }
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says relative paths are invalid and must be ignored.
  if (xdg && posix.isAbsolute(xdg)) return posix.join(xdg, "orygate");
  if (env.HOME) return posix.join(env.HOME, ".config", "orygate");
  throw new ConfigError(
    "Cannot find a directory for the local CA: neither XDG_CONFIG_HOME nor HOME is set",
  );
}

/**
 * Loads the CA kept in `dir`, or creates one there when it is missing, unparseable, does not
 * match its key, is not a CA, or expires within 30 days.
 *
 * @example
 * ```ts
 * import { loadOrCreateLocalCa } from "./local_ca.ts";
 * const dir = await Deno.makeTempDir();
 * const ca = await loadOrCreateLocalCa(dir, { hostname: "devbox" });
 * ca.certPem.startsWith("-----BEGIN CERTIFICATE-----"); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadOrCreateLocalCa(
  dir: string,
  options: LocalCaOptions = {},
): Promise<LocalCa> {
  const now = (options.now ?? (() => new Date()))();
  const certFile = joinPath(dir, CA_CERT_FILE);
  const keyFile = joinPath(dir, CA_KEY_FILE);
  const existing = await readIfPresent(certFile, keyFile);
  let replacedBecause: string | undefined;
  if (existing) {
    const loaded = await tryLoad(existing.certPem, existing.keyPem, now);
    if (typeof loaded !== "string") return { ...loaded, dir, certFile, keyFile, created: false };
    replacedBecause = loaded;
  }
  const made = await createCa(now, options.hostname ?? currentHostname());
  await writeCaFiles(dir, certFile, keyFile, made.certPem, made.keyPem);
  return { ...made.ca, dir, certFile, keyFile, created: true, replacedBecause };
}

type CaCore = Omit<LocalCa, "dir" | "certFile" | "keyFile" | "created" | "replacedBecause">;

async function readIfPresent(
  certFile: string,
  keyFile: string,
): Promise<{ certPem: string; keyPem: string } | undefined> {
  try {
    return {
      certPem: await Deno.readTextFile(certFile),
      keyPem: await Deno.readTextFile(keyFile),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(
      `Cannot read the local CA in ${dirnameOf(certFile)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Returns the CA, or a sentence saying why the files cannot be used. */
async function tryLoad(certPem: string, keyPem: string, now: Date): Promise<CaCore | string> {
  let parsed;
  try {
    const [der] = fromPem("CERTIFICATE", certPem);
    if (!der) return `${CA_CERT_FILE} holds no PEM certificate`;
    parsed = parseCertificate(der);
  } catch (error) {
    return `${CA_CERT_FILE} cannot be parsed (${(error as Error).message})`;
  }
  if (!parsed.isCa) return `${CA_CERT_FILE} is not a CA certificate`;
  if (parsed.notAfter.getTime() - now.getTime() < CA_RENEW_BEFORE_MS) {
    return `${CA_CERT_FILE} expires on ${parsed.notAfter.toISOString()}`;
  }
  if (parsed.notBefore.getTime() > now.getTime() + BACKDATE_MS) {
    return `${CA_CERT_FILE} is not valid before ${parsed.notBefore.toISOString()}`;
  }
  let privateKey: CryptoKey;
  let jwk: JsonWebKey;
  try {
    const [der] = fromPem("PRIVATE KEY", keyPem);
    if (!der) return `${CA_KEY_FILE} holds no PEM PKCS#8 private key`;
    privateKey = await crypto.subtle.importKey("pkcs8", der, ECDSA_P256, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", privateKey);
  } catch (error) {
    return `${CA_KEY_FILE} cannot be read as an ECDSA P-256 key (${(error as Error).message})`;
  }
  let point: Bytes;
  try {
    point = publicKeyBits(parsed.spki);
  } catch (error) {
    return `${CA_CERT_FILE} has an unreadable public key (${(error as Error).message})`;
  }
  const expected = `04${base64UrlToHex(jwk.x ?? "")}${base64UrlToHex(jwk.y ?? "")}`;
  if (toHex(point) !== expected) return `${CA_KEY_FILE} does not belong to ${CA_CERT_FILE}`;
  return {
    certPem,
    serialHex: parsed.serialHex,
    subject: parsed.subject,
    keyId: await keyIdentifier(parsed.spki),
    notAfter: parsed.notAfter,
    privateKey,
  };
}

async function createCa(
  now: Date,
  hostname: string,
): Promise<{ ca: CaCore; certPem: string; keyPem: string }> {
  const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const keyId = await keyIdentifier(spki);
  const subject = encodeName({
    organization: "orygate",
    commonName: `orygate local development CA (${hostname})`,
  });
  const notAfter = new Date(now.getTime() + CA_VALIDITY_MS);
  const der = await signCertificate({
    serial: randomSerial(),
    issuer: subject,
    subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    spki,
    extensions: [
      // cA = TRUE, pathLenConstraint = 0: it signs leaves only, never another CA.
      encodeExtension(
        OID.basicConstraints,
        true,
        derSequence(derBoolean(true), derSmallInteger(0)),
      ),
      // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110 with one unused trailing bit.
      encodeExtension(OID.keyUsage, true, derBitString(new Uint8Array([0x06]), 1)),
      encodeExtension(OID.subjectKeyIdentifier, false, derOctetString(keyId)),
    ],
  }, keys.privateKey);
  const certPem = toPem("CERTIFICATE", der);
  const keyPem = toPem("PRIVATE KEY", pkcs8);
  const parsed = parseCertificate(der);
  return {
    ca: {
      certPem,
      serialHex: parsed.serialHex,
      subject,
      keyId,
      notAfter: parsed.notAfter,
      privateKey: keys.privateKey,
    },
    certPem,
    keyPem,
  };
}

/**
 * A random positive 128-bit serial number (RFC 5280 allows up to 20 octets; CAs are asked to use
 * at least 64 random bits).
 *
 * @example
 * ```ts
 * import { randomSerial } from "./local_ca.ts";
 * randomSerial().length; // 16
 * ```
 */
export function randomSerial(): Bytes {
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f; // positive
  if (serial[0] === 0) serial[0] = 0x01; // keep 16 significant bytes
  return serial;
}

async function writeCaFiles(
  dir: string,
  certFile: string,
  keyFile: string,
  certPem: string,
  keyPem: string,
): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    // Write to a fresh private temp file, then rename over the old one: a reader never sees
    // half a key, and the key is never readable by others, even for a moment.
    await writeAtomically(keyFile, keyPem, 0o600);
    await writeAtomically(certFile, certPem, 0o644);
  } catch (error) {
    throw new ConfigError(
      `Cannot write the local CA to ${dir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, mode);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

function currentHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown host";
  }
}

function joinPath(dir: string, file: string): string {
  return Deno.build.os === "windows" ? win32.join(dir, file) : posix.join(dir, file);
}

function dirnameOf(path: string): string {
  return Deno.build.os === "windows" ? win32.dirname(path) : posix.dirname(path);
}

function base64UrlToHex(text: string): string {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return toHex(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
