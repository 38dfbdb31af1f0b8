/**
 * The HTTP/1.1 client's response-head parser: status line and fields from a connection's
 * buffer, strictly (a malformed head is a {@linkcode Violation}, never guessed).
 *
 * @module
 */
import {
  checkHeadBytes,
  CR,
  type Fields,
  findLF,
  FramingError,
  latin1,
  LF,
  parseFields,
  SP,
} from "./syntax.ts";

/** The upstream broke HTTP/1.1; the message completes "the application at <origin> …". */
export class Violation extends Error {}

/** Most header fields accepted in a response head. */
const MAX_RESPONSE_FIELDS = 1000;

const asciiDecoder = new TextDecoder();

/** Where a response head is read from: a connection's buffer and how far it was scanned. */
export interface HeadSource {
  readonly buf: Uint8Array;
  start: number;
  readonly end: number;
  /** Bytes of a partial head already scanned for its end. */
  scanned: number;
}

/** A parsed response head. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly keepAlive: boolean;
}
/**
 * Parses a response head from the connection's buffer, consuming it. Returns undefined when
 * the head is not complete yet; throws a {@linkcode Violation} when it is malformed.
 */
export function parseHead(c: HeadSource): ResponseHead | undefined {
  const buf = c.buf;
  const end = c.end;
  let start = c.start;
  // Tolerate stray empty lines before a status line.
  while (start < end && (buf[start] === CR || buf[start] === LF)) {
    if (buf[start] === CR && start + 1 < end && buf[start + 1] !== LF) break;
    start++;
  }
  c.start = start;
  let line = start + c.scanned;
  let headEnd: number;
  for (;;) {
    const lf = findLF(buf, line, end);
    if (lf === -1) {
      c.scanned = line - start;
      return undefined;
    }
    if (lf === line || (lf === line + 1 && buf[line] === CR)) {
      headEnd = lf + 1;
      break;
    }
    line = lf + 1;
  }
  c.scanned = 0;
  c.start = headEnd;

  let ascii: boolean;
  try {
    ascii = checkHeadBytes(buf, start, headEnd);
  } catch (err) {
    throw new Violation(`sent ${(err as Error).message.replace("its head", "its response head")}`);
  }
  const text = ascii
    ? asciiDecoder.decode(buf.subarray(start, headEnd))
    : latin1(buf, start, headEnd);

  // Status line: HTTP/1.x SP 3DIGIT [SP reason]
  const lf = text.indexOf("\n");
  const eol = lf > 0 && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
  const minor = text.charCodeAt(7) - 48;
  const status = (text.charCodeAt(9) - 48) * 100 + (text.charCodeAt(10) - 48) * 10 +
    (text.charCodeAt(11) - 48);
  if (
    eol < 12 || !text.startsWith("HTTP/1.") || (minor !== 0 && minor !== 1) ||
    text.charCodeAt(8) !== SP || !isDigit(text, 9) || !isDigit(text, 10) || !isDigit(text, 11) ||
    (eol > 12 && text.charCodeAt(12) !== SP) || status < 100 || status > 599
  ) {
    throw new Violation(`sent an invalid status line: "${text.slice(0, Math.min(eol, 64))}"`);
  }
  const statusText = eol > 13 ? text.slice(13, eol) : "";

  let fields: Fields;
  try {
    fields = parseFields(text, lf + 1, MAX_RESPONSE_FIELDS);
  } catch (err) {
    if (err instanceof FramingError) throw new Violation(`sent ${err.message}`);
    throw err;
  }
  const { headers, contentLength, chunked } = fields;
  return {
    status,
    statusText,
    headers,
    contentLength,
    chunked,
    keepAlive: !fields.close && (minor === 1 || fields.keepAlive),
  };
}

function isDigit(s: string, i: number): boolean {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9;
}
