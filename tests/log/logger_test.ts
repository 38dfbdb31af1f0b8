import { createLogger } from "../../src/log/logger.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

const entry = {
  method: "GET",
  path: "/page",
  status: 200,
  durationMs: 1.23456,
  route: "app",
  answeredBy: "application",
  bytesOut: 12,
  remoteAddr: "127.0.0.1",
  requestId: "r-1",
  identityId: "id-1",
};

Deno.test("createLogger(): json lines carry time, level, msg and the access fields", () => {
  const out: string[] = [];
  const log = createLogger("info", { write: (t) => out.push(t), format: "json" });
  log.info("orygate 0.1.0 proxy is ready\n  open your app at: http://x\n");
  log.warn("careful");
  log.error("broken");
  log.access(entry);
  log.flush();
  const records = out.join("").trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(records.map((r) => [r.level, r.msg]), [
    ["info", "orygate 0.1.0 proxy is ready"],
    ["info", "  open your app at: http://x"],
    ["warn", "careful"],
    ["error", "broken"],
    ["info", "request"],
  ]);
  for (const r of records) assertMatch(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const { time: _, ...access } = records[4];
  assertEquals(access, {
    level: "info",
    msg: "request",
    method: "GET",
    path: "/page",
    status: 200,
    duration_ms: 1.235,
    route: "app",
    bytes_out: 12,
    remote_addr: "127.0.0.1",
    request_id: "r-1",
    identity_id: "id-1",
  });
});

Deno.test("createLogger(): text lines are as before, warnings prefixed", () => {
  const out: string[] = [];
  const log = createLogger("info", { write: (t) => out.push(t) });
  log.warn("careful");
  log.access(entry);
  log.flush();
  assertEquals(out[0], "warning: careful\n");
  assertMatch(out[1], /^\S+Z GET \/page 200 1\.2ms application 12B r-1 id-1\n$/);
});

Deno.test("createLogger(): the time is kept per millisecond, and moves on after it", async () => {
  const out: string[] = [];
  const log = createLogger("info", { write: (t) => out.push(t) });
  log.access(entry);
  log.access({ ...entry, durationMs: 0.05 });
  log.flush();
  const [first, second] = out.join("").trim().split("\n");
  const stamp = first.split(" ")[0];
  assertMatch(stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assertMatch(first, / 1\.2ms /);
  assertMatch(second, / 0\.1ms /); // as toFixed(1) rounds it
  await new Promise((r) => setTimeout(r, 5));
  log.access(entry);
  log.flush();
  const later = out.join("").trim().split("\n")[2].split(" ")[0];
  assertEquals(Date.parse(later) > Date.parse(stamp), true);
});

Deno.test("createLogger(): a worker's lines say which worker wrote them", async (t) => {
  await t.step("json: a worker field on every line", () => {
    const out: string[] = [];
    const log = createLogger("info", { write: (s) => out.push(s), format: "json", worker: 2 });
    log.error("broken");
    log.access(entry);
    log.flush();
    const records = out.join("").trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(records.map((r) => [r.level, r.worker, r.msg]), [
      ["error", 2, "broken"],
      ["info", 2, "request"],
    ]);
  });
  await t.step("text: messages start with `worker <n>:`, access lines as before", () => {
    const out: string[] = [];
    const log = createLogger("info", { write: (s) => out.push(s), worker: 3 });
    log.warn("careful");
    log.access(entry);
    log.flush();
    assertEquals(out[0], "warning: worker 3: careful\n");
    assertMatch(out[1], /^\S+Z GET \/page 200 1\.2ms application 12B r-1 id-1\n$/);
  });
});

/** Waits until `done()` holds, polling; fails after `ms` (generous: a loaded machine is slow). */
async function eventually(done: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("createLogger(): access lines wait for a batch, then go out without a flush", async () => {
  const out: string[] = [];
  const log = createLogger("info", { write: (t) => out.push(t) });
  log.access(entry);
  log.access({ ...entry, requestId: "r-2" });
  assertEquals(out.length, 0); // batched: no write per line
  await eventually(() => out.length > 0);
  assertEquals(out.length, 1); // both lines in one write
  assertEquals(out[0].trim().split("\n").map((l) => l.split(" ")[7]), ["r-1", "r-2"]);
  log.flush();
});

Deno.test("createLogger(): a full batch goes out at once; the lines after it follow", async () => {
  const out: string[] = [];
  const log = createLogger("info", { write: (t) => out.push(t) });
  let sent = 0;
  while (out.length === 0) log.access({ ...entry, requestId: `r-${sent++}` });
  assertEquals(out[0].length >= 16 * 1024, true);
  log.access({ ...entry, requestId: "after" });
  await eventually(() => out.length === 2);
  const ids = out.join("").trim().split("\n").map((l) => l.split(" ")[7]);
  assertEquals(ids.length, sent + 1);
  assertEquals(ids.at(-1), "after");
  log.flush();
});

Deno.test("createLogger(): a message writes the batched lines before it, in order", () => {
  const out: string[] = [];
  const log = createLogger("info", { write: (t) => out.push(t) });
  log.access(entry);
  log.error("boom");
  assertEquals(out.length, 1);
  assertMatch(out[0], /^\S+Z GET \/page .* r-1 id-1\n\S+Z error boom\n$/);
  log.flush(); // nothing left, and no timer
  assertEquals(out.length, 1);
});

Deno.test("createLogger(): batched lines are written when the process exits", async () => {
  const logger = new URL("../../src/log/logger.ts", import.meta.url).href;
  const program = `import { createLogger } from ${JSON.stringify(logger)};
    const log = createLogger("info");
    log.access(${JSON.stringify(entry)});
    Deno.exit(3);`;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", program],
    stdout: "null",
    stderr: "piped",
  }).output();
  assertEquals(code, 3);
  assertMatch(new TextDecoder().decode(stderr), /^\S+Z GET \/page 200 1\.2ms application 12B r-1/);
});
