import { plainHttpAnswer } from "../../src/http1/plain_http_answer.ts";
import { assertEquals } from "../_support/assert.ts";

const ORIGIN = "https://localhost:4000";

function answer(text: string): string | undefined {
  const bytes = plainHttpAnswer(new TextEncoder().encode(text), ORIGIN);
  return bytes && new TextDecoder().decode(bytes);
}

function statusAndLocation(text: string): [string, string | undefined] | undefined {
  const out = answer(text);
  if (out === undefined) return undefined;
  return [out.split("\r\n")[0], /\r\nLocation: ([^\r]*)\r\n/.exec(out)?.[1]];
}

Deno.test("plainHttpAnswer() sends GET and HEAD to the same path on https", async (t) => {
  const cases: [string, [string, string | undefined]][] = [
    ["GET / HTTP/1.1\r\nHost: localhost:4000\r\n\r\n", [
      "HTTP/1.1 307 Temporary Redirect",
      `${ORIGIN}/`,
    ]],
    ["GET /members?a=1&b=%20 HTTP/1.1\r\n", [
      "HTTP/1.1 307 Temporary Redirect",
      `${ORIGIN}/members?a=1&b=%20`,
    ]],
    ["HEAD /x HTTP/1.0\r\n\r\n", ["HTTP/1.1 307 Temporary Redirect", `${ORIGIN}/x`]],
    // absolute-form: only its path is kept, never the host it names
    ["GET http://evil.example/steal?q HTTP/1.1\r\n", [
      "HTTP/1.1 307 Temporary Redirect",
      `${ORIGIN}/steal?q`,
    ]],
    ["GET //evil.example/ HTTP/1.1\r\n", [
      "HTTP/1.1 307 Temporary Redirect",
      `${ORIGIN}//evil.example/`,
    ]],
    ["OPTIONS * HTTP/1.1\r\n", ["HTTP/1.1 400 Bad Request", undefined]],
    // a request line cut short by the first read still counts
    ["GET /partial", ["HTTP/1.1 307 Temporary Redirect", `${ORIGIN}/partial`]],
  ];
  for (const [request, expected] of cases) {
    await t.step(JSON.stringify(request), () => assertEquals(statusAndLocation(request), expected));
  }
});

Deno.test("plainHttpAnswer() answers other methods with a 400 that names the https URL", () => {
  const out = answer("POST /form HTTP/1.1\r\nContent-Length: 3\r\n\r\na=b")!;
  assertEquals(out.split("\r\n")[0], "HTTP/1.1 400 Bad Request");
  assertEquals(
    out.split("\r\n\r\n")[1],
    `Client sent an HTTP request to an HTTPS server: use ${ORIGIN}/form\n`,
  );
});

Deno.test("plainHttpAnswer() frames its answer and closes the connection", () => {
  const out = answer("GET /a HTTP/1.1\r\n\r\n")!;
  const [head, body] = out.split("\r\n\r\n");
  assertEquals(body, `This port speaks HTTPS: use ${ORIGIN}/a\n`);
  assertEquals(
    /Content-Length: (\d+)/.exec(head)?.[1],
    String(new TextEncoder().encode(body).length),
  );
  assertEquals(/\r\nConnection: close/.test(head), true);
  const headOnly = answer("HEAD /a HTTP/1.1\r\n\r\n")!;
  assertEquals(headOnly.endsWith("\r\n\r\n"), true, "HEAD gets no body");
});

Deno.test("plainHttpAnswer() leaves bytes that are not HTTP unanswered", async (t) => {
  for (
    const text of ["", "SSH-2.0-OpenSSH_9.6\r\n", "\x00\x01\x02", "get / HTTP/1.1\r\n", "GET\r\n"]
  ) {
    await t.step(JSON.stringify(text), () => assertEquals(answer(text), undefined));
  }
});

Deno.test("plainHttpAnswer() never puts control bytes or other hosts into Location", async (t) => {
  for (const target of ["/a\x7fb", "/\xff", "http://[bad"]) {
    await t.step(JSON.stringify(target), () => {
      const got = statusAndLocation(`GET ${target} HTTP/1.1\r\n`);
      if (got === undefined) return;
      const location = got[1] ?? "";
      assertEquals(location === "" || location.startsWith(`${ORIGIN}/`), true, location);
      assertEquals([...location].every((c) => c > " " && c < "\x7f"), true, location);
    });
  }
});
