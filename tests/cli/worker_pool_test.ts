/**
 * The worker pool's supervision with stand-in workers (event targets that answer as a worker
 * would, or fail on cue): what the CLI tests cannot provoke on demand, such as a worker's
 * uncaught error, is driven here. The real threads are in tests/cli/workers_test.ts.
 */
import { startWorkerPool, type WorkerHandle } from "../../src/cli/worker_pool.ts";
import type { FromWorker, ToWorker } from "../../src/cli/worker_messages.ts";
import { ConfigError } from "../../src/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { Registry } from "../../src/metrics/registry.ts";
import type { ParseInput } from "../../src/config/parse.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_support/assert.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** A stand-in worker: answers start, ping, metrics and stop, unless told otherwise. */
class FakeWorker extends EventTarget implements WorkerHandle {
  readonly received: ToWorker[] = [];
  terminated = false;
  /** Stops answering pings (a blocked event loop, or a thread that ended). */
  silent = false;
  /** What `start` is answered with. */
  answerStart: FromWorker = { type: "ready" };
  requests = 0;

  constructor(readonly id: number) {
    super();
  }

  postMessage(message: ToWorker): void {
    this.received.push(message);
    const reply = (m: FromWorker) => queueMicrotask(() => this.emit(m));
    if (this.silent || this.terminated) return;
    switch (message.type) {
      case "start":
        return reply(this.answerStart);
      case "ping":
        return reply({ type: "pong", seq: message.seq });
      case "metrics": {
        const registry = new Registry();
        registry.counter("orygate_requests_total", "r").series().value = this.requests;
        return reply({ type: "metrics", seq: message.seq, snapshot: registry.snapshot() });
      }
      case "stop":
        return reply({ type: "stopped" });
    }
  }

  terminate(): void {
    this.terminated = true;
  }

  emit(message: FromWorker): void {
    this.dispatchEvent(new MessageEvent("message", { data: message }));
  }

  /** An uncaught error in the worker, as the parent's Worker reports it. */
  crash(message: string): ErrorEvent {
    const event = new ErrorEvent("error", { message, cancelable: true });
    this.dispatchEvent(event);
    return event;
  }
}

function setup(count: number, options: { heartbeatMs?: number; silenceMs?: number } = {}) {
  const spawned: FakeWorker[] = [];
  const lines: string[] = [];
  const revoked: string[] = [];
  let restarts = 0;
  const input: ParseInput = { command: "proxy", appUrl: "http://a", options: {}, env: {} };
  const pool = startWorkerPool({
    count,
    start: { input },
    spawn: (id) => {
      const worker = new FakeWorker(id);
      spawned.push(worker);
      return worker;
    },
    logger: createLogger("info", { write: (text) => lines.push(text) }),
    onRevoked: (key) => revoked.push(key),
    onRestart: () => restarts++,
    heartbeatMs: options.heartbeatMs ?? 20,
    silenceMs: options.silenceMs ?? 200,
  });
  const latest = (id: number) => spawned.findLast((w) => w.id === id)!;
  return { pool, spawned, lines, revoked, latest, restarts: () => restarts };
}

Deno.test("worker pool: starts each id once with the shared start message", async () => {
  const { pool, spawned } = setup(3);
  await pool.started;
  assertEquals(pool.running, 3);
  assertEquals(spawned.map((w) => w.id), [1, 2, 3]);
  for (const w of spawned) {
    const start = w.received[0];
    assertEquals(start.type === "start" && [start.id, start.generation], [w.id, 0]);
  }
  await pool.stop(100);
});

Deno.test("worker pool: a logout one worker saw reaches the others and the owner", async () => {
  const { pool, spawned, revoked } = setup(3);
  await pool.started;
  spawned[1].emit({ type: "revoked", key: "k1" });
  const purges = spawned.map((w) => w.received.filter((m) => m.type === "purge"));
  assertEquals(purges, [[{ type: "purge", key: "k1" }], [], [{ type: "purge", key: "k1" }]]);
  assertEquals(revoked, ["k1"]);
  pool.purge("*"); // from Redis: every worker
  assertEquals(
    spawned.map((w) => w.received.at(-1)),
    spawned.map(() => ({ type: "purge", key: "*" })),
  );
  await pool.stop(100);
});

Deno.test("worker pool: a crashed worker is ended, logged and started again", async () => {
  const { pool, latest, lines, restarts } = setup(2);
  await pool.started;
  const first = latest(2);
  first.requests = 7;
  await pool.snapshots(); // its counters as last scraped
  const event = first.crash("Uncaught Error: boom");
  assert(event.defaultPrevented, "the error would have ended the whole process");
  assert(first.terminated);
  assertEquals(restarts(), 1);
  assertMatch(
    lines.join(""),
    /error worker 2 crashed: Uncaught Error: boom; starting it again in 0\.5 s\n/,
  );
  // Lost within 10 s of its start: started again after a delay, as generation 1.
  await until("worker 2 replaced", () => latest(2) !== first);
  const start = latest(2).received[0];
  assertEquals(start.type === "start" && [start.id, start.generation], [2, 1]);
  await until("serving again", () => pool.running === 2);
  assertMatch(lines.join(""), /worker 2 is serving again\n/);
  // What it counted before it was lost is kept, beside its replacement's own count.
  const { workers, retired } = await pool.snapshots();
  assertEquals(retired[0].series[0].value, 7);
  assertEquals(workers.map((w) => w.id), [1, 2]);
  await pool.stop(100);
});

Deno.test("worker pool: a worker that stops answering is replaced", async () => {
  const { pool, latest, lines } = setup(2, { heartbeatMs: 10, silenceMs: 100 });
  await pool.started;
  const stuck = latest(1);
  stuck.silent = true;
  await until("worker 1 replaced", () => latest(1) !== stuck);
  assert(stuck.terminated);
  assertMatch(
    lines.join(""),
    /worker 1 did not answer for 0\.1 s \(its event loop is blocked, or it ended\)/,
  );
  await until("serving again", () => pool.running === 2);
  await pool.stop(100);
});

Deno.test("worker pool: a worker that cannot start fails the start (exit 2 for mistakes)", async () => {
  const spawned: FakeWorker[] = [];
  const pool = startWorkerPool({
    count: 2,
    start: { input: { command: "proxy", appUrl: "http://a", options: {}, env: {} } },
    spawn: (id) => {
      const w = new FakeWorker(id);
      if (id === 2) {
        w.answerStart = { type: "failed", message: "Cannot listen on port 1: …", config: true };
      }
      spawned.push(w);
      return w;
    },
    logger: createLogger("quiet", { write: () => {} }),
  });
  await assertThrows(() => pool.started, ConfigError, /^Cannot listen on port 1/);
  await pool.stop(100);
  assert(spawned.every((w) => w.terminated));
});

Deno.test("worker pool: stop drains every worker, then ends them", async () => {
  const { pool, spawned } = setup(2);
  await pool.started;
  await pool.stop(1000);
  for (const w of spawned) {
    assertEquals(w.received.at(-1), { type: "stop", graceMs: 1000 });
    assert(w.terminated);
  }
  assertEquals(pool.running, 0);
});
