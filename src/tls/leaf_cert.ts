/**
 * Issues the server certificate `proxy local` serves: a fresh ECDSA P-256 key and a leaf for
 * `localhost`, `127.0.0.1` and `::1`, signed by the local CA, valid for at most 397 days (the
 * limit browsers put on server certificates) and never longer than the CA.
 *
 * @example
 * ```ts
 * import { loadOrCreateLocalCa } from "./local_ca.ts";
 * import { issueLeafCertificate } from "./leaf_cert.ts";
 * const dir = await Deno.makeTempDir();
 * const leaf = await issueLeafCertificate(await loadOrCreateLocalCa(dir));
 * // leaf.cert (leaf + CA) and leaf.key go straight into Deno.serve({ cert, key }).
 * console.log(leaf.notAfter > new Date()); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
import { ConfigError } from "../errors.ts";
import {
  type Bytes,
  derBitString,
  derNode,
  derOctetString,
  derOid,
  derSequence,
  fromPem,
  toPem,
} from "./_der.ts";
import {
  ECDSA_P256,
  encodeExtension,
  encodeName,
  keyIdentifier,
  OID,
  parseCertificate,
  signCertificate,
} from "./_x509.ts";
import { type LocalCa, randomSerial } from "./local_ca.ts";

/** The names a local development certificate covers by default. */
export const LOCALHOST_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

/** The longest validity browsers accept for a server certificate (CA/B Forum, Apple). */
export const MAX_LEAF_VALIDITY_DAYS = 397;

const DAY_MS = 86_400_000;
const BACKDATE_MS = 3_600_000;

/** What the leaf is signed with: the parts of {@linkcode LocalCa} a signer needs. */
export type LeafIssuer = Pick<LocalCa, "certPem" | "subject" | "keyId" | "notAfter" | "privateKey">;

/** Options of {@linkcode issueLeafCertificate}. */
export interface LeafCertificateOptions {
  /** DNS names and IP addresses to cover; defaults to {@linkcode LOCALHOST_NAMES}. */
  hosts?: readonly string[];
  /** Validity in days, at most {@linkcode MAX_LEAF_VALIDITY_DAYS} (the default). */
  validityDays?: number;
  /** Clock; defaults to `() => new Date()`. */
  now?: () => Date;
}

/** A server certificate ready for `Deno.serve({ cert, key })`. */
export interface LeafCertificate {
  /** PEM chain: the leaf first, then the CA. */
  cert: string;
  /** PEM PKCS#8 private key of the leaf. */
  key: string;
  /** Serial number, lower-case hex. */
  serialHex: string;
  /** End of validity. */
  notAfter: Date;
}

/**
 * Issues a server certificate signed by `ca` (serverAuth, digitalSignature, SANs for `hosts`).
 *
 * @example
 * ```ts
 * import { loadOrCreateLocalCa } from "./local_ca.ts";
 * import { issueLeafCertificate } from "./leaf_cert.ts";
 * const dir = await Deno.makeTempDir();
 * const ca = await loadOrCreateLocalCa(dir);
 * const { cert, key } = await issueLeafCertificate(ca, { hosts: ["localhost", "::1"] });
 * cert.split("-----BEGIN CERTIFICATE-----").length - 1; // 2
 * key.startsWith("-----BEGIN PRIVATE KEY-----"); // true
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function issueLeafCertificate(
  ca: LeafIssuer,
  options: LeafCertificateOptions = {},
): Promise<LeafCertificate> {
  const hosts = options.hosts ?? LOCALHOST_NAMES;
  if (hosts.length === 0) throw new ConfigError("Cannot issue a certificate for no host names");
  const days = options.validityDays ?? MAX_LEAF_VALIDITY_DAYS;
  if (!(days > 0 && days <= MAX_LEAF_VALIDITY_DAYS)) {
    throw new ConfigError(
      `Cannot issue a certificate valid for ${days} days: use 1 to ${MAX_LEAF_VALIDITY_DAYS}`,
    );
  }
  const sanNames = hosts.map(encodeGeneralName);
  const now = (options.now ?? (() => new Date()))().getTime();
  const notAfter = new Date(Math.min(now + days * DAY_MS, ca.notAfter.getTime()));
  const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const der = await signCertificate({
    serial: randomSerial(),
    issuer: ca.subject,
    subject: encodeName({
      organization: "orygate local development certificate",
      commonName: hosts[0],
    }),
    notBefore: new Date(now - BACKDATE_MS),
    notAfter,
    spki,
    extensions: [
      // An end entity: basicConstraints with cA absent (FALSE).
      encodeExtension(OID.basicConstraints, true, derSequence()),
      // digitalSignature (bit 0): 0b1000_0000 with seven unused trailing bits.
      encodeExtension(OID.keyUsage, true, derBitString(new Uint8Array([0x80]), 7)),
      encodeExtension(OID.extKeyUsage, false, derSequence(derOid(OID.serverAuth))),
      encodeExtension(OID.subjectAltName, false, derSequence(...sanNames)),
      // keyIdentifier is [0] IMPLICIT OCTET STRING.
      encodeExtension(OID.authorityKeyIdentifier, false, derSequence(derNode(0x80, ca.keyId))),
      encodeExtension(OID.subjectKeyIdentifier, false, derOctetString(await keyIdentifier(spki))),
    ],
  }, ca.privateKey);
  const [caDer] = fromPem("CERTIFICATE", ca.certPem);
  return {
    cert: toPem("CERTIFICATE", der) + (caDer ? toPem("CERTIFICATE", caDer) : ""),
    key: toPem("PRIVATE KEY", pkcs8),
    serialHex: parseCertificate(der).serialHex,
    notAfter,
  };
}

/** dNSName is [2] IMPLICIT IA5String, iPAddress is [7] IMPLICIT OCTET STRING (RFC 5280). */
function encodeGeneralName(host: string): Bytes {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const ip = parseIpv4(bare) ?? (bare.includes(":") ? parseIpv6(bare) : undefined);
  if (ip) return derNode(0x87, ip);
  const name = bare.toLowerCase().replace(/\.$/, "");
  if (
    !/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name)
  ) {
    throw new ConfigError(
      `Cannot issue a certificate for "${host}": not a host name or IP address`,
    );
  }
  return derNode(0x82, new TextEncoder().encode(name));
}

function parseIpv4(text: string): Bytes | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && +p <= 255)) {
    return undefined;
  }
  return new Uint8Array(parts.map(Number));
}

function parseIpv6(text: string): Bytes | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}
