/**
 * Differential property test of `--protect-path-prefix` through the real CLI: request
 * targets built from segments, dot-segments, percent-encodings (single and double) of
 * `/ \ . ;`, case changes and non-ASCII go to orygate without credentials, in front of a real
 * Express application. Whenever orygate lets a request through, the target the application
 * received must be one that no real router — Express (the upstream itself), Hono, URLPattern,
 * Go's ServeMux, a hand-written `startsWith` — dispatches under `/members`; and it must be
 * byte for byte the canonical form orygate decided on. Otherwise orygate must have protected
 * it (401) or refused it (400).
 *
 * Fixed seed and a bounded count here; `deno task fuzz` runs it with many more
 * (ORYGATE_FUZZ_RUNS, ORYGATE_FUZZ_SEED).
 */
import fc from "fast-check";
import { canonicalTarget } from "../../src/proxy/request_target.ts";
import { startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import {
  goJudge,
  honoJudge,
  type Judge,
  naiveJudge,
  startExpressApp,
  urlPatternJudge,
} from "../_support/routers.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const RUNS = Number(Deno.env.get("ORYGATE_FUZZ_RUNS") ?? 1000);
const SEED = Number(Deno.env.get("ORYGATE_FUZZ_SEED") ?? 20261201);

/** Between segments: the real separator, and spellings some routers take for one. */
const SEPARATOR = fc.oneof(
  { weight: 12, arbitrary: fc.constant("/") },
  {
    weight: 4,
    arbitrary: fc.constantFrom("//", "%2f", "%2F", "%5c", "%5C", "\\", "%252f"),
  },
);
/** Pieces of segments: names (in several cases and encodings), dot-segments (plain, encoded, with
 * parameters) and oddities (NUL, bad escapes, non-ASCII, spaces, fragments). */
const PIECE = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "members",
      "members",
      "MEMBERS",
      "Members",
      "pub",
      "x",
      "membership",
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      ".",
      "..",
      "%2e",
      "%2E",
      "%2e%2e",
      ".%2e",
      "%2E.",
      "%252e%252e",
      "..;",
      "..;x",
      "..%3b",
      "..%3B",
      "%2e%2e%3b",
      ".%2E%3Bx",
      "..%253b",
      ".;x",
      "",
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "%6dembers",
      "%4D%45%4D%42%45%52%53",
      "%256dembers",
      "\u{ff4d}embers", // fullwidth m, raw
      "%EF%BD%8Dembers",
      "m\u00e9mbers",
      "members%20",
      "members.",
      "members~",
      "members;x",
      ";x",
      "%3b",
      "%3B",
      "%253b",
      "%00",
      "%zz",
      "%",
      "%e9",
      " ",
      "#x",
    ),
  },
);
const QUERY = fc.constantFrom("", "", "", "?a=1", "?/members", "?", "?x=%2e%2e/members");

/** A segment is one to three pieces: `..` then `%3B` makes `..%3B`, which a review found. */
const SEGMENT = fc.array(PIECE, { minLength: 1, maxLength: 3 }).map((pieces) => pieces.join(""));

const target = fc.tuple(SEGMENT, fc.array(fc.tuple(SEPARATOR, SEGMENT), { maxLength: 6 }), QUERY)
  .map(([first, rest, query]) => "/" + first + rest.map(([s, seg]) => s + seg).join("") + query);

/** Sends one raw request (bytes as given, Latin-1 for non-ASCII) and reads the whole answer. */
async function send(port: number, rawTarget: string): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = `GET ${rawTarget} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n` +
    `Connection: close\r\n\r\n`;
  // UTF-8 on the wire for non-ASCII, as a careless client sends it.
  await conn.write(new TextEncoder().encode(head));
  const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

Deno.test(
  "no real router dispatches under a protected prefix what orygate let through",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const app = await startExpressApp();
    const ory = startFakeOry();
    const go = await goJudge();
    const judges: Judge[] = [honoJudge(), urlPatternJudge(), naiveJudge(), go];
    const proxy = await startCli([
      "proxy",
      app.origin,
      "--sdk-url",
      ory.origin,
      "--protect-path-prefix",
      "/members",
      "--quiet",
    ]);
    const seen = { protected: 0, refused: 0, passed: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(target, async (raw) => {
          const { status, body } = await send(proxy.port, raw);
          if (status === 401) return void seen.protected++;
          if (status === 400) return void seen.refused++;
          assertEquals(status, 200, `${JSON.stringify(raw)} → ${status} ${body.slice(0, 80)}`);
          seen.passed++;
          const [verdict, forwarded] = body.split(" ");
          assertEquals(verdict, "other", `Express dispatched ${JSON.stringify(raw)} to /members`);
          for (const judge of judges) {
            assertEquals(
              await judge.judge(forwarded),
              "other",
              `${judge.name} dispatches ${JSON.stringify(forwarded)} (sent as ${
                JSON.stringify(raw)
              }) under /members, and orygate let it through`,
            );
          }
          // What arrived is exactly the canonical form orygate decided on.
          const decision = canonicalTarget(raw);
          assert(decision.refused === undefined, `${raw} was refused by the rules but passed`);
          assertEquals(forwarded, decision.path + decision.query, `forwarded form of ${raw}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      console.log(`path protection: ${JSON.stringify(seen)} (seed ${SEED}, ${RUNS} runs)`);
      // The generator reaches all three outcomes; a test that only ever sees one proves little.
      assert(seen.protected > 0 && seen.refused > 0 && seen.passed > 0, JSON.stringify(seen));
    } finally {
      await proxy.stop();
      await go.close();
      await app.close();
      await ory.close();
    }
  },
);
