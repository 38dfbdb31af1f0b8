/**
 * Bad input and faults through the real CLI: ambiguous framing, oversized heads, a gzip
 * bomb from Ory, an application dying mid-response, clients vanishing mid-upload and
 * mid-download. The proxy refuses or normalises, never passes anything on ambiguously, and
 * keeps serving.
 */
import { memoryOf, startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import { rawRequest } from "../_support/raw_http.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

Deno.test(
  "adversarial input and faults",
  { sanitizeOps: false, sanitizeResources: false },
  async (t) => {
    const app = startTestApp();
    const ory = startFakeOry();
    const proxy = await startCli([
      "proxy",
      app.origin,
      "--sdk-url",
      ory.origin,
      "--upstream-timeout",
      "3s",
      "--header-timeout",
      "1s",
    ]);
    const base = proxy.url;
    try {
      await t.step("ambiguous framing is refused with 400 and never reaches the app", async () => {
        const cases: Record<string, string> = {
          "Content-Length and Transfer-Encoding":
            "POST /framing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
          "conflicting Content-Length":
            "POST /framing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
          "duplicate Content-Length":
            "POST /framing HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
          "obs-fold": "GET /framing HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
          "unknown transfer coding":
            "POST /framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
          "empty Transfer-Encoding with Content-Length":
            "POST /framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\nContent-Length: 5\r\n\r\nhello",
          "Transfer-Encoding of commas with Content-Length":
            "POST /framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , ,\r\nContent-Length: 5\r\n\r\nhello",
          "Transfer-Encoding of commas alone":
            "POST /framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
          "chunked not last":
            "POST /framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
          "space before colon":
            "GET /framing HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
        };
        for (const [name, text] of Object.entries(cases)) {
          const answer = await rawRequest(proxy.port, text, 1000);
          assertMatch(answer, /^HTTP\/1\.1 400 /, name);
          assertEquals(
            (answer.match(/HTTP\/1\.1 \d{3}/g) ?? []).length,
            1,
            `${name}: one answer only`,
          );
        }
        assertEquals(app.seen.filter((p) => p === "/framing" || p === "/smuggled"), []);
      });
      await t.step("a request line after the last chunk is no trailer", async () => {
        const answer = await rawRequest(
          proxy.port,
          "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
          1000,
        );
        assert(!/^HTTP\/1\.1 2/.test(answer), `no success: ${answer.slice(0, 40)}`);
        assertEquals(app.seen.includes("/smuggled"), false);
      });
      await t.step("an invalid chunk size never becomes a complete upload", async () => {
        const before = app.uploads.length;
        const answer = await rawRequest(
          proxy.port,
          "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n",
          1000,
        );
        assert(!/^HTTP\/1\.1 2/.test(answer), `no success: ${answer.slice(0, 40)}`);
        assertEquals(app.uploads.slice(before).some((u) => u.complete), false);
      });
      await t.step(
        "a slowloris head is cut off after --header-timeout; others are served",
        async () => {
          const slow = await Deno.connect({
            hostname: "127.0.0.1",
            port: Number(new URL(base).port),
          });
          const started = performance.now();
          await slow.write(new TextEncoder().encode("GET /echo HTTP/1.1\r\nHost: x\r\n"));
          let closedAfter = -1;
          const closed = slow.read(new Uint8Array(1024)).catch(() => null).then((n) => {
            closedAfter = performance.now() - started;
            return n;
          });
          for (let i = 0; i < 8 && closedAfter < 0; i++) {
            await slow.write(new TextEncoder().encode(`x-${i}: 1\r\n`)).catch(() => {});
            const res = await fetch(`${base}/echo`);
            assertEquals(res.status, 200);
            await res.body?.cancel();
            await new Promise((r) => setTimeout(r, 250));
          }
          const open = new Promise((r) => setTimeout(() => r("still open after 3s"), 3000));
          assertEquals(await Promise.race([closed, open]), null);
          slow.close();
          assert(closedAfter >= 900 && closedAfter < 2500, `closed after ${closedAfter} ms`);
        },
      );
      await t.step("too many headers refused, too large → 431, too long a URL → 414", async () => {
        // 100 fields is orygate's limit (431); past 200 lines its server refuses the head itself.
        const many: Record<string, string> = {};
        for (let i = 0; i < 150; i++) many[`x-h${i}`] = "v";
        const seen = app.seen.length;
        const a = await fetch(`${base}/many-headers`, { headers: many });
        await a.body?.cancel();
        assert(a.status === 400 || a.status === 431, `status ${a.status}`);
        assertEquals(app.seen.slice(seen).includes("/many-headers"), false);
        const b = await fetch(`${base}/echo`, { headers: { "x-big": "v".repeat(40 * 1024) } });
        await b.body?.cancel();
        assertEquals(b.status, 431);
        const c = await fetch(`${base}/echo?q=${"a".repeat(9 * 1024)}`);
        await c.body?.cancel();
        assertEquals(c.status, 414);
        const ok = await fetch(`${base}/echo`, { headers: { "x-fine": "v".repeat(8 * 1024) } });
        await ok.body?.cancel();
        assertEquals(ok.status, 200);
      });
      await t.step(
        "a gzip bomb from Ory is refused after the cap, not inflated into memory",
        async () => {
          const before = (await memoryOf(proxy.pid)).peak;
          const res = await fetch(`${base}/.ory/bomb`);
          assertEquals(res.status, 502);
          assertMatch(await res.text(), /rewrite limit/);
          const grew = (await memoryOf(proxy.pid)).peak - before;
          assert(
            grew < 100 * 1048576,
            `peak RSS grew ${(grew / 1048576).toFixed(0)} MiB on a 256 MiB bomb`,
          );
        },
      );
      await t.step("an app dying mid-response ends the client's response as an error", async () => {
        const res = await fetch(`${base}/die`);
        assertEquals(res.status, 200);
        const failed = await res.arrayBuffer().then(() => false, () => true);
        assert(failed, "a truncated body was passed off as complete");
      });
      await t.step(
        "a client vanishing mid-upload leaves the app with an incomplete upload",
        async () => {
          const before = app.uploads.length;
          const controller = new AbortController();
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            async pull(c) {
              if (sent >= 4) {
                controller.abort();
                return;
              }
              sent++;
              c.enqueue(new Uint8Array(256 * 1024));
              await new Promise((r) => setTimeout(r, 50));
            },
          });
          await fetch(`${base}/upload`, { method: "POST", body, signal: controller.signal }).catch(
            () => {},
          );
          await new Promise((r) => setTimeout(r, 500));
          const mine = app.uploads.slice(before);
          assertEquals(mine.length, 1);
          assertEquals(mine[0].complete, false);
        },
      );
      await t.step("clients vanishing mid-download do not hurt the next requests", async () => {
        for (let i = 0; i < 10; i++) {
          const controller = new AbortController();
          const res = await fetch(`${base}/download?bytes=${64 * 1024 * 1024}`, {
            signal: controller.signal,
          });
          const reader = res.body!.getReader();
          await reader.read();
          controller.abort();
          await reader.closed.catch(() => {});
        }
        const res = await fetch(`${base}/echo`);
        assertEquals(res.status, 200);
        await res.body?.cancel();
        assertEquals(/internal error/.test(proxy.output()), false, proxy.output());
      });
    } finally {
      await proxy.stop();
      await app.close();
      await ory.close();
    }
  },
);
