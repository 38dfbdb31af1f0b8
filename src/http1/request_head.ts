/**
 * The HTTP/1.1 server's request-head parser: request line, fields and framing, strictly
 * (RFC 9112): what does not parse is a {@linkcode BadRequest} with the status to answer.
 *
 * @module
 */
import {
  checkHeadBytes,
  CR,
  type Fields,
  findLF,
  FramingError,
  isToken,
  latin1,
  LF,
  parseFields,
  TooManyFields,
} from "./syntax.ts";

/** Largest request head accepted (request line and all header lines), in bytes. */
export const MAX_HEAD_BYTES = 48 * 1024;
/** Most header lines accepted before the head is refused with 431. */
const MAX_HEADER_LINES = 200;

const asciiDecoder = new TextDecoder();

/** Bad request: answered with `status` and the connection closes. */
export class BadRequest extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The parsed request line and framing of one request. */
export interface Head {
  readonly method: string;
  readonly target: string;
  readonly headers: Headers;
  readonly http10: boolean;
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly close: boolean;
  readonly expectContinue: boolean;
}

/** Index just past the blank line ending a head in `buf[from..end)`, or -1. */
export function findHeadEnd(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  for (;;) {
    const lf = findLF(buf, i, end);
    if (lf === -1) return -1;
    // LF LF or LF CR LF ends the head.
    if (lf + 1 < end && buf[lf + 1] === LF) return lf + 2;
    if (lf + 2 < end && buf[lf + 1] === CR && buf[lf + 2] === LF) return lf + 3;
    i = lf + 1;
  }
}

/** Parses a request head in `buf[start..end)`. Throws {@linkcode BadRequest}/FramingError. */
export function parseRequestHead(buf: Uint8Array, start: number, end: number): Head {
  const ascii = checkHeadBytes(buf, start, end);
  const text = ascii ? asciiDecoder.decode(buf.subarray(start, end)) : latin1(buf, start, end);

  // request-line = method SP request-target SP HTTP-version
  const lf = text.indexOf("\n");
  const eol = lf > 0 && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
  const sp1 = text.indexOf(" ");
  const sp2 = sp1 === -1 ? -1 : text.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 > eol || !isToken(text, 0, sp1)) {
    throw new BadRequest(400, "the request line is invalid");
  }
  const version = text.slice(sp2 + 1, eol);
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new BadRequest(version.startsWith("HTTP/") ? 505 : 400, "only HTTP/1.x is served");
  }
  const method = text.slice(0, sp1);
  const target = text.slice(sp1 + 1, sp2);
  if (target.length === 0 || target.includes(" ")) {
    throw new BadRequest(400, "the request target is invalid");
  }

  let fields: Fields;
  try {
    fields = parseFields(text, lf + 1, MAX_HEADER_LINES);
  } catch (err) {
    if (err instanceof TooManyFields) throw new BadRequest(431, err.message);
    if (err instanceof FramingError) throw new BadRequest(400, `the request has ${err.message}`);
    throw err;
  }
  const { headers, contentLength, chunked, hosts, expect } = fields;
  if (expect !== undefined && expect.toLowerCase() !== "100-continue") {
    throw new BadRequest(417, `the expectation "${expect}" cannot be met`);
  }
  if (hosts !== 1 && (version === "HTTP/1.1" || hosts > 1)) {
    throw new BadRequest(400, hosts === 0 ? "the Host header is missing" : "Host was sent twice");
  }
  const http10 = version === "HTTP/1.0";
  return {
    method,
    target,
    headers,
    http10,
    contentLength,
    chunked,
    // RFC 9112 §6.1: after an HTTP/1.0 request with Transfer-Encoding, close.
    close: fields.close || (http10 && (!fields.keepAlive || chunked)),
    // RFC 9110 §10.1.1: an HTTP/1.0 client's 100-continue is ignored.
    expectContinue: expect !== undefined && !http10 && (chunked || contentLength > 0),
  };
}

/** `http(s)://` + authority + the rest (a path starting with "/", or nothing). */
export const ABSOLUTE_FORM = /^(https?:\/\/)([^/?#]+)(\/.*)?$/i;

/** reg-name or IPv4 or [IPv6], with an optional port. */
export const HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=%]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
