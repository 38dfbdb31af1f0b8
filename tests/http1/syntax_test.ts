/** Table tests for the HTTP/1.1 wire syntax on its own: chunked coding, fields, lengths. */
import { BodyFramer, type Framing } from "../../src/http1/body_framer.ts";
import { BadRequest, parseRequestHead } from "../../src/http1/request_head.ts";
import { parseHead, Violation } from "../../src/http1/response_head.ts";
import {
  ChunkedDecoder,
  FramingError,
  isToken,
  parseContentLength,
  parseFields,
  TooManyFields,
} from "../../src/http1/syntax.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Decodes `input` whole with a fresh decoder: the body, or the error's message. */
function dechunk(input: string, strict: boolean): string {
  const buf = bytes(input);
  const decoder = new ChunkedDecoder(strict);
  const ranges: number[] = [];
  try {
    const end = decoder.decode(buf, 0, buf.length, ranges);
    let body = "";
    for (let i = 0; i < ranges.length; i += 2) {
      body += String.fromCharCode(...buf.subarray(ranges[i], ranges[i + 1]));
    }
    return decoder.done ? body + (end < buf.length ? "|rest" : "") : body + "|more";
  } catch (err) {
    assert(err instanceof FramingError, String(err));
    return `!${err.message}`;
  }
}

Deno.test("ChunkedDecoder: table", () => {
  // [input, strict (request) result, lenient (response) result]
  const table: [string, string, string][] = [
    ["5\r\nhello\r\n0\r\n\r\n", "hello", "hello"],
    ["5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", "hello world"],
    ["A\r\n0123456789\r\n0\r\n\r\n", "0123456789", "0123456789"],
    ['5;ext=1;q="x"\r\nhello\r\n0\r\n\r\n', "hello", "hello"],
    ["5\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n", "hello", "hello"],
    ["5\r\nhello\r\n0\r\n\r\nGET", "hello|rest", "hello|rest"],
    ["5\r\nhel", "hel|more", "hel|more"],
    ["5\nhello\n0\n\n", "!a chunk-size line not ended by CRLF", "hello"],
    ["5\r\nhello\n0\r\n\r\n", "!chunk data longer than its size", "hello"],
    [
      "5\r\nhello!\r\n0\r\n\r\n",
      "!chunk data longer than its size",
      "!chunk data longer than its size",
    ],
    ["zz\r\nhello\r\n0\r\n\r\n", "!an invalid chunk size", "!an invalid chunk size"],
    ["\r\nhello\r\n", "!an invalid chunk size", "!an invalid chunk size"],
    ["1000000000000\r\n", "!an invalid chunk size", "!an invalid chunk size"],
    ["5 x\r\nhello\r\n0\r\n\r\n", "!an invalid chunk size", "!an invalid chunk size"],
    [
      "5;a\x01b\r\nhello\r\n0\r\n\r\n",
      "!an invalid chunk extension",
      "!an invalid chunk extension",
    ],
    [
      "5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\n\r\n",
      "!a trailer line that is not a header field",
      "!a trailer line that is not a header field",
    ],
  ];
  for (const [input, strict, lenient] of table) {
    assertEquals(dechunk(input, true), strict, `strict ${JSON.stringify(input)}`);
    assertEquals(dechunk(input, false), lenient, `lenient ${JSON.stringify(input)}`);
  }
});

Deno.test("ChunkedDecoder: the same body split at every byte", () => {
  const input = "5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nt: 1\r\n\r\n";
  const buf = bytes(input);
  for (let cut = 1; cut < buf.length; cut++) {
    const decoder = new ChunkedDecoder(true);
    const ranges: number[] = [];
    let body = "";
    const take = (end: number, from: number) => {
      ranges.length = 0;
      const at = decoder.decode(buf, from, end, ranges);
      for (let i = 0; i < ranges.length; i += 2) {
        body += String.fromCharCode(...buf.subarray(ranges[i], ranges[i + 1]));
      }
      return at;
    };
    const at = take(cut, 0);
    take(buf.length, at);
    assertEquals([body, decoder.done], ["hello world", true], `cut at ${cut}`);
  }
});

Deno.test("parseFields() and friends: table", () => {
  const fields = (head: string) => parseFields(head + "\r\n\r\n", 0, 100);
  const ok = fields(
    "Host: a\r\nContent-Length: 5\r\nConnection: keep-alive, close\r\nExpect: 100-continue",
  );
  assertEquals(
    [ok.hosts, ok.contentLength, ok.close, ok.keepAlive, ok.expect, ok.headers.has("expect")],
    [1, 5, true, true, "100-continue", false],
  );
  assertEquals(fields("Transfer-Encoding: chunked").chunked, true);
  assertEquals(fields("Transfer-Encoding: chunked, ").chunked, true);
  const refused: [string, RegExp][] = [
    [" folded: x", /obs-fold/],
    ["X-A: a\r\n b", /obs-fold/],
    ["no colon", /without a name/],
    [": empty name", /without a name/],
    ["Bad Name: x", /invalid header name/],
    ["Transfer-Encoding: gzip", /unsupported Transfer-Encoding/],
    ["Transfer-Encoding: chunked, gzip", /unsupported Transfer-Encoding/],
    ["Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", /unsupported Transfer-Encoding/],
    ["Transfer-Encoding: ", /without the chunked coding/],
    ["Transfer-Encoding: , ,", /without the chunked coding/],
    [
      "Transfer-Encoding: chunked\r\nContent-Length: 5",
      /both Transfer-Encoding and Content-Length/,
    ],
    ["Content-Length: 5\r\nContent-Length: 6", /Content-Length/],
    ["Content-Length: +5", /Content-Length/],
    ["Content-Length: 0x5", /Content-Length/],
  ];
  for (const [head, re] of refused) {
    try {
      fields(head);
      throw new Error(`accepted ${JSON.stringify(head)}`);
    } catch (err) {
      assert(err instanceof FramingError, `${JSON.stringify(head)}: ${err}`);
      assert(re.test(err.message), `${JSON.stringify(head)}: ${err.message}`);
    }
  }
  try {
    parseFields("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 0, 2);
    throw new Error("three lines accepted with a limit of two");
  } catch (err) {
    assert(err instanceof TooManyFields, String(err));
  }
  for (
    const [name, token] of [["x-a", true], ["a b", false], ["", false], ["a:b", false]] as const
  ) {
    assertEquals(isToken(name, 0, name.length), token, name);
  }
  assertEquals(parseContentLength("42", -1), 42);
  // A list of identical values may count as one (RFC 9112 §6.3); the engine still refuses
  // a joined "5, 5" before forwarding (an ambiguous length never goes upstream).
  assertEquals(fields("Content-Length: 5, 5").contentLength, 5);
});

Deno.test("parseRequestHead(): table", () => {
  const parse = (head: string) => {
    const buf = bytes(head + "\r\n\r\n");
    return parseRequestHead(buf, 0, buf.length);
  };
  const h = parse("POST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3");
  assertEquals([h.method, h.target, h.contentLength, h.chunked, h.http10, h.close], [
    "POST",
    "/x?y",
    3,
    false,
    false,
    false,
  ]);
  const old = parse("GET / HTTP/1.0\r\nTransfer-Encoding: chunked");
  assertEquals([old.http10, old.close, old.chunked], [true, true, true]);
  const refused: [string, number][] = [
    ["GET / HTTP/1.1", 400], // no Host
    ["GET / HTTP/1.1\r\nHost: a\r\nHost: b", 400],
    ["GET / HTTP/2.0\r\nHost: a", 505],
    ["GET / FOO/1.1\r\nHost: a", 400],
    ["GET  / HTTP/1.1\r\nHost: a", 400],
    ["G(T / HTTP/1.1\r\nHost: a", 400],
    ["GET / HTTP/1.1\r\nHost: a\r\nExpect: magic", 417],
    ["GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2", 400],
  ];
  for (const [head, status] of refused) {
    try {
      parse(head);
      throw new Error(`accepted ${JSON.stringify(head)}`);
    } catch (err) {
      assert(err instanceof BadRequest, `${JSON.stringify(head)}: ${err}`);
      assertEquals(err.status, status, JSON.stringify(head));
    }
  }
});

Deno.test("parseHead() (responses): table", () => {
  const parse = (text: string) => {
    const src = { buf: bytes(text), start: 0, end: text.length, scanned: 0 };
    return parseHead(src);
  };
  const r = parse("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc")!;
  assertEquals([r.status, r.statusText, r.contentLength, r.keepAlive], [404, "Not Found", 3, true]);
  assertEquals(parse("HTTP/1.1 200 OK\r\nContent-Le"), undefined);
  assertEquals(parse("HTTP/1.0 200 OK\r\n\r\n")!.keepAlive, false);
  assertEquals(parse("HTTP/1.1 204 \r\n\r\n")!.statusText, "");
  for (const bad of ["HTTP/1.1 20 OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "FOO 200 OK\r\n\r\n"]) {
    try {
      parse(bad);
      throw new Error(`accepted ${JSON.stringify(bad)}`);
    } catch (err) {
      assert(err instanceof Violation, `${JSON.stringify(bad)}: ${err}`);
    }
  }
});

Deno.test("BodyFramer: length, chunked and until-close, across reads", () => {
  const run = (framing: Framing, parts: string[], closeAtEnd: boolean) => {
    const framer = new BodyFramer(framing);
    let body = "";
    const ranges: number[] = [];
    for (const part of parts) {
      const src = { buf: bytes(part), start: 0, end: part.length };
      framer.take(src, ranges);
      for (let i = 0; i < ranges.length; i += 2) {
        body += part.slice(ranges[i], ranges[i + 1]);
      }
    }
    const ended = closeAtEnd ? framer.inputEnded() : framer.done;
    return [body, ended];
  };
  assertEquals(run({ kind: "length", length: 5 }, ["he", "llo", "EXTRA"], false), ["hello", true]);
  assertEquals(run({ kind: "length", length: 5 }, ["he"], true), ["he", false]);
  assertEquals(run({ kind: "length", length: 0 }, [""], false), ["", true]);
  assertEquals(run({ kind: "close" }, ["a", "b"], true), ["ab", true]);
  assertEquals(run({ kind: "chunked", strict: true }, ["2\r\nab\r\n0\r\n\r\n"], false), [
    "ab",
    true,
  ]);
  assertEquals(run({ kind: "chunked", strict: true }, ["2\r\nab\r\n"], true), ["ab", false]);
});
