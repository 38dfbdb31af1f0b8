/**
 * The small part of ASN.1 DER (ITU-T X.690) that X.509 certificates need: writing the few
 * universal types a certificate uses, reading tag-length-value nodes back, and PEM armour.
 * Private to `src/tls/`.
 *
 * @example
 * ```ts
 * import { derInteger, derSequence, readDer } from "./_der.ts";
 * const bytes = derSequence(derInteger(new Uint8Array([5])));
 * readDer(bytes).tag; // 0x30
 * ```
 */

/** Bytes backed by a plain `ArrayBuffer`, as WebCrypto wants them. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Universal and context tags used by the certificate code. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./_der.ts";
 * concatBytes(new Uint8Array([1]), new Uint8Array([2])); // Uint8Array [1, 2]
 * ```
 */
export function concatBytes(...parts: readonly Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Encodes one node: a tag byte, a DER length and the contents.
 *
 * @example
 * ```ts
 * import { derNode } from "./_der.ts";
 * derNode(0x04, new Uint8Array([1, 2])); // Uint8Array [4, 2, 1, 2]
 * ```
 */
export function derNode(tag: number, ...contents: readonly Bytes[]): Bytes {
  const body = concatBytes(...contents);
  return concatBytes(new Uint8Array([tag]), encodeLength(body.length), body);
}

function encodeLength(length: number): Bytes {
  if (length < 0x80) return new Uint8Array([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return new Uint8Array([0x80 | bytes.length, ...bytes]);
}

/**
 * A SEQUENCE of already encoded nodes.
 *
 * @example
 * ```ts
 * import { derSequence } from "./_der.ts";
 * derSequence(); // Uint8Array [48, 0]
 * ```
 */
export function derSequence(...items: readonly Bytes[]): Bytes {
  return derNode(TAG.sequence, ...items);
}

/**
 * A SET of already encoded nodes (the caller keeps them in DER order; certificates here only
 * ever put one item in a set).
 *
 * @example
 * ```ts
 * import { derSet } from "./_der.ts";
 * derSet(); // Uint8Array [49, 0]
 * ```
 */
export function derSet(...items: readonly Bytes[]): Bytes {
  return derNode(TAG.set, ...items);
}

/**
 * A non-negative INTEGER from its big-endian magnitude, minimally encoded.
 *
 * @example
 * ```ts
 * import { derInteger } from "./_der.ts";
 * derInteger(new Uint8Array([0x00, 0x80])); // Uint8Array [2, 2, 0, 128]
 * ```
 */
export function derInteger(magnitude: Bytes): Bytes {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const value = trimmed.length === 0 ? new Uint8Array([0]) : trimmed;
  return (value[0] & 0x80) !== 0
    ? derNode(TAG.integer, new Uint8Array([0]), value)
    : derNode(TAG.integer, value);
}

/**
 * A small non-negative INTEGER.
 *
 * @example
 * ```ts
 * import { derSmallInteger } from "./_der.ts";
 * derSmallInteger(2); // Uint8Array [2, 1, 2]
 * ```
 */
export function derSmallInteger(value: number): Bytes {
  const bytes: number[] = [];
  for (let n = value; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return derInteger(new Uint8Array(bytes));
}

/**
 * A BOOLEAN.
 *
 * @example
 * ```ts
 * import { derBoolean } from "./_der.ts";
 * derBoolean(true); // Uint8Array [1, 1, 255]
 * ```
 */
export function derBoolean(value: boolean): Bytes {
  return derNode(TAG.boolean, new Uint8Array([value ? 0xff : 0x00]));
}

/**
 * A BIT STRING whose contents are whole bytes, or named bits with `unusedBits` trailing zeros.
 *
 * @example
 * ```ts
 * import { derBitString } from "./_der.ts";
 * derBitString(new Uint8Array([0x06]), 1); // Uint8Array [3, 2, 1, 6]
 * ```
 */
export function derBitString(bytes: Bytes, unusedBits = 0): Bytes {
  return derNode(TAG.bitString, new Uint8Array([unusedBits]), bytes);
}

/**
 * An OCTET STRING.
 *
 * @example
 * ```ts
 * import { derOctetString } from "./_der.ts";
 * derOctetString(new Uint8Array([7])); // Uint8Array [4, 1, 7]
 * ```
 */
export function derOctetString(bytes: Bytes): Bytes {
  return derNode(TAG.octetString, bytes);
}

/**
 * A UTF8String.
 *
 * @example
 * ```ts
 * import { derUtf8String } from "./_der.ts";
 * derUtf8String("a"); // Uint8Array [12, 1, 97]
 * ```
 */
export function derUtf8String(text: string): Bytes {
  return derNode(TAG.utf8String, new TextEncoder().encode(text));
}

/**
 * An OBJECT IDENTIFIER from its dotted form.
 *
 * @example
 * ```ts
 * import { derOid } from "./_der.ts";
 * derOid("2.5.29.19"); // Uint8Array [6, 3, 85, 29, 19]
 * ```
 */
export function derOid(dotted: string): Bytes {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [];
  const values = [arcs[0] * 40 + arcs[1], ...arcs.slice(2)];
  for (const value of values) {
    const chunk: number[] = [value % 128];
    for (let n = Math.floor(value / 128); n > 0; n = Math.floor(n / 128)) {
      chunk.unshift(0x80 | (n % 128));
    }
    bytes.push(...chunk);
  }
  return derNode(TAG.oid, new Uint8Array(bytes));
}

/**
 * A certificate time: UTCTime before 2050 and GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5).
 *
 * @example
 * ```ts
 * import { derTime } from "./_der.ts";
 * derTime(new Date("2030-01-02T03:04:05Z"))[0]; // 0x17 (UTCTime)
 * ```
 */
export function derTime(date: Date): Bytes {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z"; // YYYYMMDDHHMMSSZ
  const year = date.getUTCFullYear();
  return year < 2050
    ? derNode(TAG.utcTime, new TextEncoder().encode(digits.slice(2)))
    : derNode(TAG.generalizedTime, new TextEncoder().encode(digits));
}

/** One decoded tag-length-value node; `contents` and `raw` are views into the input. */
export interface DerNode {
  /** The tag byte. */
  tag: number;
  /** The contents octets. */
  contents: Bytes;
  /** The whole node: tag, length and contents. */
  raw: Bytes;
}

/**
 * Reads the node that starts at `offset`, throwing on truncated or malformed input.
 *
 * @example
 * ```ts
 * import { readDer } from "./_der.ts";
 * readDer(new Uint8Array([4, 1, 7])).contents; // Uint8Array [7]
 * ```
 */
export function readDer(bytes: Bytes, offset = 0): DerNode {
  if (offset + 2 > bytes.length) throw new Error("DER: truncated header");
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new Error("DER: high tag numbers are not supported");
  let length = bytes[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error("DER: unsupported length");
    if (offset + 2 + count > bytes.length) throw new Error("DER: truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i];
    header += count;
  }
  const end = offset + header + length;
  if (end > bytes.length) throw new Error("DER: truncated contents");
  return {
    tag,
    contents: bytes.subarray(offset + header, end),
    raw: bytes.subarray(offset, end),
  };
}

/**
 * Reads every node inside a constructed node's contents.
 *
 * @example
 * ```ts
 * import { readDerChildren } from "./_der.ts";
 * readDerChildren(new Uint8Array([1, 1, 0, 4, 0])).length; // 2
 * ```
 */
export function readDerChildren(contents: Bytes): DerNode[] {
  const children: DerNode[] = [];
  for (let offset = 0; offset < contents.length;) {
    const node = readDer(contents, offset);
    children.push(node);
    offset += node.raw.length;
  }
  return children;
}

/**
 * Decodes a dotted OBJECT IDENTIFIER from a node's contents.
 *
 * @example
 * ```ts
 * import { decodeOid } from "./_der.ts";
 * decodeOid(new Uint8Array([85, 29, 19])); // "2.5.29.19"
 * ```
 */
export function decodeOid(contents: Bytes): string {
  const values: number[] = [];
  let value = 0;
  for (const byte of contents) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      values.push(value);
      value = 0;
    }
  }
  const first = values.shift() ?? 0;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - top * 40, ...values].join(".");
}

/**
 * Decodes a UTCTime or GeneralizedTime node (the `Z` forms RFC 5280 requires).
 *
 * @example
 * ```ts
 * import { decodeTime, derTime, readDer } from "./_der.ts";
 * decodeTime(readDer(derTime(new Date("2030-01-02T03:04:05Z")))).toISOString();
 * // "2030-01-02T03:04:05.000Z"
 * ```
 */
export function decodeTime(node: DerNode): Date {
  const text = new TextDecoder().decode(node.contents);
  const match = node.tag === TAG.utcTime
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match || (node.tag !== TAG.utcTime && node.tag !== TAG.generalizedTime)) {
    throw new Error(`DER: unsupported time "${text}"`);
  }
  let year = Number(match[1]);
  if (node.tag === TAG.utcTime) year += year >= 50 ? 1900 : 2000;
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/**
 * Wraps DER bytes in PEM armour with 64-character lines.
 *
 * @example
 * ```ts
 * import { toPem } from "./_der.ts";
 * toPem("CERTIFICATE", new Uint8Array([1, 2, 3]));
 * // "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
 * ```
 */
export function toPem(label: string, der: Bytes): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * Returns the DER bytes of every PEM block with the given label, in order.
 *
 * @example
 * ```ts
 * import { fromPem, toPem } from "./_der.ts";
 * fromPem("CERTIFICATE", toPem("CERTIFICATE", new Uint8Array([1, 2, 3])))[0];
 * // Uint8Array [1, 2, 3]
 * ```
 */
export function fromPem(label: string, pem: string): Bytes[] {
  const pattern = new RegExp(
    `-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`,
    "g",
  );
  const blocks: Bytes[] = [];
  for (const match of pem.matchAll(pattern)) {
    const binary = atob(match[1].replace(/\s+/g, ""));
    blocks.push(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  }
  return blocks;
}

/**
 * Lower-case hexadecimal of some bytes.
 *
 * @example
 * ```ts
 * import { toHex } from "./_der.ts";
 * toHex(new Uint8Array([0, 255])); // "00ff"
 * ```
 */
export function toHex(bytes: Bytes): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
