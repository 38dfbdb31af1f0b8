/**
 * The security boundary through the real CLI: the application receives exactly what the proxy
 * authorised. One step per finding of the adversarial review, each with several spellings.
 */
import { decodeJwt } from "jose";
import { startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import { startExpressApp } from "../_support/routers.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

/** Sends a request head as raw bytes (each char one byte: Latin-1) and reads to the close. */
async function raw(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(Uint8Array.from(head, (c) => c.charCodeAt(0) & 0xff));
  const bytes = new Uint8Array(await new Response(conn.readable).arrayBuffer());
  return String.fromCharCode(...bytes.subarray(0, 4096));
}

const get = (target: string, accept = "application/json", extra = "") =>
  `GET ${target} HTTP/1.1\r\nHost: localhost\r\nAccept: ${accept}\r\n${extra}Connection: close\r\n\r\n`;

Deno.test(
  "security boundary: what the app receives is what orygate authorised",
  { sanitizeOps: false, sanitizeResources: false },
  async (t) => {
    const express = await startExpressApp();
    const app = startTestApp();
    const ory = startFakeOry();
    const guarded = await startCli([
      "proxy",
      express.origin,
      "--sdk-url",
      ory.origin,
      "--protect-path-prefix",
      "/members",
      "--protect-path-prefix",
      "/teams/*/admin",
      "--protect-path-prefix",
      "/admin/*",
      "--protect-path-prefix",
      "re:^/api/v\\d+/",
      "--quiet",
    ]);
    const echo = await startCli([
      "proxy",
      app.origin,
      "--sdk-url",
      ory.origin,
      "--websocket-idle-timeout",
      "1s",
      "--quiet",
    ]);
    try {
      await t.step(
        "no spelling of a protected path reaches the app without a session",
        async () => {
          const spellings = [
            "/members/x",
            "/members/..%2fpub",
            "/members/..%2Fpub",
            "/members/%2e%2e%2fpub",
            "/members%2f..%2fpub",
            "/members/..%5cpub",
            "/members\\..\\pub",
            "/members/..;/pub",
            "/members/.%2e;x/pub",
            "/members/%252e%252e/pub",
            "/members/%252e%252e%252fpub",
            "/%6dembers/x",
            "/%4D%45%4D%42%45%52%53/x",
            "/MEMBERS/x",
            "/Members",
            "//members/x",
            "/./members/x",
            "/pub/../members/x",
            "/pub/%2e%2e/members/x",
            "/pub/.%2E/members",
            "/pub/..%2fmembers",
            "/members;jsessionid=1/x",
            "/members%00/x",
            "/members%zz",
            "/members/x#frag",
            "/\u00e9/../members/x",
            "/pub/%256dembers",
            // found by the adversarial review after the first fix: an escaped ";" hiding ".."
            "/members/..%3B/billing",
            "/members/..%3b/x",
            "/members/%2e%2e%3b/x",
            "/members/.%2e%3B/x",
            "/members/..%3Bx/x",
            "/members/..%3Bjsessionid=1/x",
            "/members/..%3B%3B/x",
            "/members/..%3B;/x",
            "/MEMBERS/..%3B/x",
            // a trailing slash, a glob's parent, a regex in another case
            "/teams/a/admin/",
            "/teams/a/admin",
            "/admin",
            "/ADMIN/",
            "/API/v1/secret",
            "/api/V1/secret",
            // second round: a segment of ;parameters alone, escaped controls
            "/teams/;/admin",
            "/teams/;a/admin",
            "/teams/%3b/admin",
            "/TEAMS/;/ADMIN",
            "/teams/;x/admin/",
            "/teams/%09/admin",
            "/teams/%0a/admin",
            "/members/%0d",
          ];
          for (const target of spellings) {
            for (const accept of ["application/json", "text/html"]) {
              const answer = await raw(guarded.port, get(target, accept));
              assertMatch(
                answer,
                /^HTTP\/1\.1 (400|401|303) /,
                `${JSON.stringify(target)} (${accept}): ${answer.slice(0, 60)}`,
              );
            }
          }
          assertEquals(express.seen, [], "the app saw none of them");
          // An unprotected path still gets through, canonical.
          assertMatch(
            await raw(guarded.port, get("/pub/%7Ex")),
            /^HTTP\/1\.1 200 [^]*other \/pub\/~x$/,
          );
        },
      );

      await t.step("raw non-ASCII bytes in a target are refused, never re-encoded", async () => {
        for (
          const target of [
            "/caf\u00e9", // one Latin-1 byte
            "/caf\u00c3\u00a9", // UTF-8 bytes of é
            "/x?q=\u00e9",
            "/\u00ff\u00fe",
          ]
        ) {
          assertMatch(
            await raw(echo.port, get(target)),
            /^HTTP\/1\.1 400 /,
            JSON.stringify(target),
          );
        }
        assertEquals(app.seen.filter((p) => p !== "/").length, 0);
        // Percent-encoded, the same path goes through byte for byte.
        const answer = await raw(echo.port, get("/caf%C3%A9"));
        assertMatch(answer, /"path":"\/caf%C3%A9"/);
      });

      await t.step(
        "a client's Forwarded, X-Real-IP and friends never reach an upstream",
        async () => {
          const forged = "Forwarded: for=6.6.6.6;host=evil.example;proto=https\r\n" +
            "FORWARDED: host=evil2.example\r\n" +
            "X-Real-IP: 6.6.6.6\r\n" +
            "X-Forwarded-Port: 1\r\n" +
            "X-Forwarded-Prefix: /evil\r\n" +
            "True-Client-IP: 6.6.6.6\r\n" +
            "X-Forwarded-Host: evil.example\r\n";
          const answer = await raw(echo.port, get("/headers", "application/json", forged));
          const headers = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).headers;
          assertEquals(headers.forwarded, undefined);
          assertEquals(headers["x-forwarded-prefix"], undefined);
          assertEquals(headers["true-client-ip"], undefined);
          assertEquals(headers["x-real-ip"], "127.0.0.1");
          assertEquals(headers["x-forwarded-port"], String(echo.port));
          assertEquals(headers["x-forwarded-host"], `localhost:${echo.port}`);
          // Underscore spellings (WSGI and Rack fold them into the dashed names) and path
          // overrides some frameworks honour never arrive either.
          const underscores = "X_Real_IP: 6.6.6.6\r\nX_Forwarded_Proto: https\r\n" +
            "True_Client_IP: 6.6.6.6\r\nX_Forwarded_Prefix: /evil\r\nX_Session_Token: t\r\n" +
            "X-Original-URL: /members/x\r\nX-Rewrite-URL: /members/x\r\n" +
            "X-Client-IP: 6.6.6.6\r\nClient-IP: 6.6.6.6\r\nCF-Connecting-IP: 6.6.6.6\r\n" +
            "Fastly-Client-IP: 6.6.6.6\r\nX-Cluster-Client-IP: 6.6.6.6\r\n" +
            "X-Forwarded: for=6.6.6.6\r\nForwarded-For: 6.6.6.6\r\nX-Host: evil.example\r\n" +
            "X-Original-Host: evil.example\r\nX-Forwarded-Server: evil.example\r\n" +
            "X-Forwarded-Uri: /members/x\r\nX-Envoy-Original-Path: /members/x\r\n";
          const second = await raw(echo.port, get("/headers", "application/json", underscores));
          const arrived = Object.keys(
            JSON.parse(second.slice(second.indexOf("\r\n\r\n") + 4)).headers,
          );
          const never = [
            "x-original-url",
            "x-rewrite-url",
            "x-client-ip",
            "client-ip",
            "cf-connecting-ip",
            "fastly-client-ip",
            "x-cluster-client-ip",
            "x-forwarded",
            "forwarded-for",
            "x-host",
            "x-original-host",
            "x-forwarded-server",
            "x-forwarded-uri",
            "x-envoy-original-path",
          ];
          assertEquals(arrived.filter((n) => n.includes("_") || never.includes(n)), []);
          // And on the way to Ory.
          const before = ory.requests.length;
          await raw(
            echo.port,
            get("/.ory/self-service/login/flows?id=x", "application/json", forged),
          );
          const toOry = ory.requests.slice(before).at(-1)!.headers;
          assertEquals(toOry.get("forwarded"), null);
          assertEquals(toOry.get("x-real-ip"), "127.0.0.1");
          assertEquals(toOry.get("true-client-ip"), null);
        },
      );

      await t.step(
        "with two session cookies the JWT names whom Ory resolves for the app's header",
        async () => {
          ory.sessions.set("alice-token", { id: "s-a", identityId: "id-alice", email: "a@x" });
          ory.sessions.set("bob-token", { id: "s-b", identityId: "id-bob", email: "b@x" });
          // [Cookie sent, the Cookie the app receives, the JWT's sub]: a repeated session
          // cookie name reaches the app once, as Ory read it (apps disagree on duplicates).
          const orders: [string, string, string][] = [
            [
              "ory_kratos_session=bob-token; ory_kratos_session=alice-token",
              "ory_kratos_session=bob-token",
              "id-bob",
            ],
            [
              "ory_kratos_session=alice-token; ory_kratos_session=bob-token",
              "ory_kratos_session=alice-token",
              "id-alice",
            ],
            [
              "a=1; ory_kratos_session=bob-token; b=2; ory_kratos_session=alice-token",
              "a=1; ory_kratos_session=bob-token; b=2",
              "id-bob",
            ],
            [
              "ory_session_x=alice-token; ory_kratos_session=bob-token",
              "ory_session_x=alice-token; ory_kratos_session=bob-token",
              "id-alice",
            ],
            [
              "ory_kratos_session=bob-token; ory_session_x=alice-token",
              "ory_kratos_session=bob-token; ory_session_x=alice-token",
              "id-bob",
            ],
          ];
          // A token beside a cookie: the app sees the cookie, so the JWT is the cookie's.
          const both = await raw(
            echo.port,
            get(
              "/who",
              "application/json",
              "Cookie: ory_kratos_session=bob-token\r\nX-Session-Token: alice-token\r\n" +
                "Authorization: Bearer alice-token\r\n",
            ),
          );
          const bothBody = JSON.parse(both.slice(both.indexOf("\r\n\r\n") + 4));
          assertEquals(
            decodeJwt(bothBody.headers.authorization.replace(/^Bearer /, "")).sub,
            "id-bob",
          );
          // A disguised session cookie name (Python's strip() drops NEL and Unicode spaces;
          // found by the third review round) never reaches the app: it sees alice's only.
          for (const disguise of ["\x85", "\xc2\xa0", "\xe2\x80\x80", "\xe3\x80\x80"]) {
            const tossed = await raw(
              echo.port,
              get(
                "/who",
                "application/json",
                `Cookie: ory_kratos_session=alice-token; ${disguise}ory_kratos_session=bob-token\r\n`,
              ),
            );
            const tossedBody = JSON.parse(tossed.slice(tossed.indexOf("\r\n\r\n") + 4));
            assertEquals(tossedBody.headers.cookie, "ory_kratos_session=alice-token", disguise);
            assertEquals(
              decodeJwt(tossedBody.headers.authorization.replace(/^Bearer /, "")).sub,
              "id-alice",
            );
            // Beside a token: the token's JWT, and no disguised cookie for the app to read.
            const token = await raw(
              echo.port,
              get(
                "/who",
                "application/json",
                `X-Session-Token: alice-token\r\nCookie: ${disguise}ory_kratos_session=bob-token\r\n`,
              ),
            );
            const tokenBody = JSON.parse(token.slice(token.indexOf("\r\n\r\n") + 4));
            assertEquals(tokenBody.headers.cookie, undefined, disguise);
            assertEquals(
              decodeJwt(tokenBody.headers.authorization.replace(/^Bearer /, "")).sub,
              "id-alice",
            );
          }
          // A quote left open across ";": parsers disagree on the session, so no JWT at all.
          const quoted = await raw(
            echo.port,
            get(
              "/who",
              "application/json",
              'Cookie: a="x;ory_kratos_session=alice-token;y"; ory_kratos_session=bob-token\r\n',
            ),
          );
          const quotedBody = JSON.parse(quoted.slice(quoted.indexOf("\r\n\r\n") + 4));
          assertEquals(quotedBody.headers.authorization, undefined);
          // Twice: the second round is answered from the cache, which must keep orders apart.
          for (let round = 0; round < 2; round++) {
            for (const [cookie, appCookie, expected] of orders) {
              const answer = await raw(
                echo.port,
                get("/who", "application/json", `Cookie: ${cookie}\r\n`),
              );
              const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
              assertEquals(body.headers.cookie, appCookie, `the Cookie the app gets for ${cookie}`);
              const jwt = body.headers.authorization?.replace(/^Bearer /, "");
              assert(jwt, `a JWT for ${cookie}`);
              assertEquals(decodeJwt(jwt).sub, expected, `${cookie} (round ${round + 1})`);
            }
          }
        },
      );

      await t.step("HSTS is neutralised on local publish URLs only", async () => {
        const local = await raw(echo.port, get("/hsts"));
        assertMatch(local, /\r\nstrict-transport-security: max-age=0\r\n/i);
        for (
          const [publish, expected] of [
            ["https://app.example.org", "max-age=63072000; includeSubDomains"],
            ["https://localhost:8443", "max-age=0"],
            ["https://127.0.0.1", "max-age=0"],
            ["https://dev.localhost", "max-age=0"],
            ["http://app.example.org", "max-age=0"],
          ]
        ) {
          const proxy = await startCli([
            "proxy",
            app.origin,
            publish,
            "--sdk-url",
            ory.origin,
            "--quiet",
          ]);
          try {
            const answer = await raw(proxy.port, get("/hsts"));
            assertEquals(
              /\r\nstrict-transport-security: ([^\r]*)/i.exec(answer)?.[1],
              expected,
              publish,
            );
          } finally {
            await proxy.stop();
          }
        }
      });

      await t.step("a denial before a large upload reaches the client, not a reset", async () => {
        // A client that sends its whole body before it reads (as Python's http.client does):
        // when the proxy answers early and closes with the body unread, the kernel resets the
        // connection, the client's next write fails, and it never reads the answer.
        const size = 32 * 1024 * 1024;
        for (const target of ["/members/upload", "/members/..%2fupload"]) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: guarded.port });
          const head =
            `POST ${target} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n` +
            `Content-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`;
          await conn.write(new TextEncoder().encode(head));
          const chunk = new Uint8Array(256 * 1024);
          let sent = 0;
          try {
            for (; sent < size; sent += chunk.length) await conn.write(chunk);
          } catch (err) {
            conn.close();
            throw new Error(`${target}: the upload failed after ${sent} bytes: ${err}`);
          }
          const answer = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
          assertMatch(answer, /^HTTP\/1\.1 (401|400) /, `${target}: ${answer.slice(0, 80)}`);
          assertMatch(answer, /connection: close/i);
        }
        assertEquals(express.seen.filter((t) => t.includes("upload")), []);
      });

      await t.step(
        "a silent WebSocket tunnel is closed after --websocket-idle-timeout",
        async () => {
          const open = (url: string) =>
            new Promise<WebSocket>((resolve, reject) => {
              const ws = new WebSocket(url);
              ws.onopen = () => resolve(ws);
              ws.onerror = () => reject(new Error("no WebSocket"));
            });
          const wsUrl = `ws://127.0.0.1:${echo.port}/ws`;
          const silent = await open(wsUrl);
          const talking = await open(wsUrl);
          const started = performance.now();
          const silentClosed = new Promise<number>((r) =>
            silent.onclose = () => r(performance.now())
          );
          let talkingClosed = false;
          talking.onclose = () => talkingClosed = true;
          let echoed = 0;
          talking.onmessage = () => echoed++;
          const talker = setInterval(() => talking.send("ping"), 300);
          const closedAt = await silentClosed;
          await new Promise((r) => setTimeout(r, 1500));
          clearInterval(talker);
          const after = closedAt - started;
          assert(after >= 900 && after < 2500, `silent tunnel closed after ${after.toFixed(0)} ms`);
          assertEquals(talkingClosed, false, "a tunnel in use stays open");
          assert(echoed >= 5, `messages flowed: ${echoed}`);
          talking.close();
        },
      );
    } finally {
      await guarded.stop();
      await echo.stop();
      await express.close();
      await app.close();
      await ory.close();
    }
  },
);
