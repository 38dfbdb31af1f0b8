/**
 * Just enough X.509 (RFC 5280) for a local development CA: build and sign a v3 certificate
 * with an ECDSA P-256 key from WebCrypto, and read back the fields the CA needs to reuse a
 * certificate it wrote earlier. Private to `src/tls/`.
 *
 * @example
 * ```ts
 * import { encodeName, parseCertificate, signCertificate, ECDSA_P256 } from "./_x509.ts";
 * const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
 * const name = encodeName({ commonName: "example" });
 * const der = await signCertificate({
 *   serial: new Uint8Array([1]),
 *   issuer: name,
 *   subject: name,
 *   notBefore: new Date(),
 *   notAfter: new Date(Date.now() + 86_400_000),
 *   spki: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
 *   extensions: [],
 * }, keys.privateKey);
 * parseCertificate(der).serialHex; // "01"
 * ```
 */
import {
  type Bytes,
  decodeOid,
  decodeTime,
  derBitString,
  derBoolean,
  derInteger,
  derNode,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derSmallInteger,
  derTime,
  derUtf8String,
  readDer,
  readDerChildren,
  TAG,
  toHex,
} from "./_der.ts";

/** WebCrypto parameters for the keys orygate makes: ECDSA on P-256. */
export const ECDSA_P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };

/** Object identifiers used by the certificates. */
export const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
} as const;

/** The attributes of a distinguished name, written in this order. */
export interface NameParts {
  /** O */
  organization?: string;
  /** OU */
  organizationalUnit?: string;
  /** CN */
  commonName: string;
}

/**
 * Encodes a distinguished name (one attribute per RDN, UTF8String values).
 *
 * @example
 * ```ts
 * import { encodeName } from "./_x509.ts";
 * encodeName({ commonName: "a" })[0]; // 0x30
 * ```
 */
export function encodeName(parts: NameParts): Bytes {
  const rdns: Bytes[] = [];
  const add = (oid: string, value: string | undefined) => {
    if (value !== undefined) rdns.push(derSet(derSequence(derOid(oid), derUtf8String(value))));
  };
  add(OID.organization, parts.organization);
  add(OID.organizationalUnit, parts.organizationalUnit);
  add(OID.commonName, parts.commonName);
  return derSequence(...rdns);
}

/**
 * Encodes one extension; `value` is the DER that goes inside the extnValue OCTET STRING.
 *
 * @example
 * ```ts
 * import { encodeExtension, OID } from "./_x509.ts";
 * import { derSequence } from "./_der.ts";
 * encodeExtension(OID.basicConstraints, true, derSequence())[0]; // 0x30
 * ```
 */
export function encodeExtension(oid: string, critical: boolean, value: Bytes): Bytes {
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

/** Everything that goes into a certificate apart from the signature. */
export interface CertificateTemplate {
  /** Big-endian serial number (positive; encoded minimally). */
  serial: Bytes;
  /** DER Name of the signer, byte-for-byte the signer's own subject. */
  issuer: Bytes;
  /** DER Name of the certificate holder. */
  subject: Bytes;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the holder's key (WebCrypto `exportKey("spki")`). */
  spki: Bytes;
  /** Encoded extensions, see {@linkcode encodeExtension}. */
  extensions: readonly Bytes[];
}

/**
 * Builds the TBSCertificate, signs it with ECDSA P-256/SHA-256 and returns the certificate DER.
 *
 * @example
 * ```ts
 * import { encodeName, signCertificate, ECDSA_P256 } from "./_x509.ts";
 * const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
 * const name = encodeName({ commonName: "self" });
 * const der = await signCertificate({
 *   serial: new Uint8Array([7]), issuer: name, subject: name,
 *   notBefore: new Date(), notAfter: new Date(Date.now() + 1000),
 *   spki: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
 *   extensions: [],
 * }, keys.privateKey);
 * der[0]; // 0x30
 * ```
 */
export async function signCertificate(
  template: CertificateTemplate,
  signingKey: CryptoKey,
): Promise<Bytes> {
  const algorithm = derSequence(derOid(OID.ecdsaWithSha256));
  const tbs = derSequence(
    derNode(0xa0, derSmallInteger(2)), // [0] EXPLICIT version v3
    derInteger(template.serial),
    algorithm,
    template.issuer,
    derSequence(derTime(template.notBefore), derTime(template.notAfter)),
    template.subject,
    template.spki,
    ...(template.extensions.length > 0
      ? [derNode(0xa3, derSequence(...template.extensions))] // [3] EXPLICIT extensions
      : []),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signingKey, tbs),
  );
  return derSequence(tbs, algorithm, derBitString(ecdsaSignatureToDer(raw)));
}

/** WebCrypto returns ECDSA signatures as r‖s; X.509 wants SEQUENCE { INTEGER r, INTEGER s }. */
function ecdsaSignatureToDer(raw: Bytes): Bytes {
  const half = raw.length / 2;
  return derSequence(derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half)));
}

/**
 * The key identifier of RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits.
 *
 * @example
 * ```ts
 * import { keyIdentifier, ECDSA_P256 } from "./_x509.ts";
 * const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
 * (await keyIdentifier(new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey))))
 *   .length; // 20
 * ```
 */
export async function keyIdentifier(spki: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-1", publicKeyBits(spki)));
}

/**
 * The subjectPublicKey bits of a SubjectPublicKeyInfo (for EC keys: the point 04‖x‖y).
 *
 * @example
 * ```ts
 * import { publicKeyBits, ECDSA_P256 } from "./_x509.ts";
 * const keys = await crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
 * publicKeyBits(new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)))[0]; // 4
 * ```
 */
export function publicKeyBits(spki: Bytes): Bytes {
  const [, bits] = readDerChildren(readDer(spki).contents);
  if (bits?.tag !== TAG.bitString) throw new Error("not a SubjectPublicKeyInfo");
  return bits.contents.subarray(1);
}

/** The fields of a certificate that the local CA reads back. */
export interface ParsedCertificate {
  /** The whole certificate. */
  der: Bytes;
  /** Serial number as lower-case hex of its DER contents. */
  serialHex: string;
  /** DER Name of the issuer. */
  issuer: Bytes;
  /** DER Name of the subject. */
  subject: Bytes;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** DER SubjectPublicKeyInfo. */
  spki: Bytes;
  /** Whether basicConstraints says cA = TRUE. */
  isCa: boolean;
  /** Dotted OIDs of every extension present. */
  extensionOids: string[];
}

/**
 * Reads the fields of {@linkcode ParsedCertificate} from certificate DER; throws if malformed.
 *
 * @example
 * ```ts
 * import { parseCertificate } from "./_x509.ts";
 * try {
 *   parseCertificate(new Uint8Array([0x30, 0x00]));
 * } catch (error) {
 *   console.log((error as Error).message); // "DER: ..." or "not a certificate"
 * }
 * ```
 */
export function parseCertificate(der: Bytes): ParsedCertificate {
  const certificate = readDer(der);
  if (certificate.tag !== TAG.sequence || certificate.raw.length !== der.length) {
    throw new Error("not a certificate");
  }
  const [tbs] = readDerChildren(certificate.contents);
  if (tbs?.tag !== TAG.sequence) throw new Error("not a certificate");
  const fields = readDerChildren(tbs.contents);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const serial = fields[i++];
  i++; // signature algorithm
  const issuer = fields[i++];
  const validity = fields[i++];
  const subject = fields[i++];
  const spki = fields[i++];
  if (
    serial?.tag !== TAG.integer || issuer?.tag !== TAG.sequence ||
    validity?.tag !== TAG.sequence || subject?.tag !== TAG.sequence ||
    spki?.tag !== TAG.sequence
  ) {
    throw new Error("not a certificate");
  }
  const [notBefore, notAfter] = readDerChildren(validity.contents);
  if (!notBefore || !notAfter) throw new Error("not a certificate");
  let isCa = false;
  const extensionOids: string[] = [];
  const wrapper = fields.slice(i).find((field) => field.tag === 0xa3);
  if (wrapper) {
    for (const extension of readDerChildren(readDer(wrapper.contents).contents)) {
      const parts = readDerChildren(extension.contents);
      const oid = decodeOid(parts[0].contents);
      extensionOids.push(oid);
      if (oid === OID.basicConstraints) {
        const value = parts[parts.length - 1].contents;
        const [flag] = readDerChildren(readDer(value).contents);
        isCa = flag?.tag === TAG.boolean && flag.contents[0] !== 0;
      }
    }
  }
  return {
    der,
    serialHex: toHex(serial.contents),
    issuer: issuer.raw,
    subject: subject.raw,
    notBefore: decodeTime(notBefore),
    notAfter: decodeTime(notAfter),
    spki: spki.raw,
    isCa,
    extensionOids,
  };
}
