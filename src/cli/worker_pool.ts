/**
 * The parent's side of `--workers`: starts n workers (`worker_entry.ts`), keeps them running
 * and speaks for them. Each is one event loop on its own thread, listening on the shared port.
 *
 * - A worker is lost when it reports an uncaught error, says it could not start again, or
 *   stops answering the parent's ping (one a second) for 10 s: its event loop is blocked, or
 *   it ended without a word (Deno tells a parent nothing when a worker's thread ends). It is
 *   ended, logged and started again, at once the first time and with a growing delay (0.5 s
 *   doubling to 30 s) while its replacements keep being lost within 10 s of their start.
 * - A logout one worker saw reaches every other worker (`purge`) and the pool's owner (Redis).
 * - Metrics: each worker's registry is asked for at scrape time; a lost worker's counters and
 *   histograms, as last scraped, are kept, so the sums never go backwards.
 * - `stop` drains them all at once within the grace period, then ends whatever is left.
 *
 * @example
 * ```ts ignore
 * const pool = startWorkerPool({ count: 2, start: { input, keys }, spawn, logger });
 * await pool.started;
 * await pool.stop(5000);
 * ```
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { countersOf, mergeSnapshots, type RegistrySnapshot } from "../metrics/snapshot.ts";
import type { FromWorker, StartWorker, ToWorker } from "./worker_messages.ts";

/** What the pool needs of a worker: a `Worker`, or a fake in tests. */
export interface WorkerHandle {
  postMessage(message: ToWorker): void;
  terminate(): void;
  /** `message` events carry a {@linkcode FromWorker}; `error` ones are `ErrorEvent`s. */
  addEventListener(type: "message" | "error", listener: (event: Event) => void): void;
}

/** What {@linkcode startWorkerPool} needs. */
export interface WorkerPoolOptions {
  readonly count: number;
  /** What every worker starts with, besides its id and generation. */
  readonly start: Omit<StartWorker, "type" | "id" | "generation">;
  /** Creates worker `id`'s thread. */
  readonly spawn: (id: number) => WorkerHandle;
  readonly logger: Logger;
  /** A worker saw a logout (the other workers are told already): for the other instances. */
  readonly onRevoked?: (key: string) => void;
  /** A worker was lost and is being started again. */
  readonly onRestart?: () => void;
  /** How often workers are pinged (default 1 s). */
  readonly heartbeatMs?: number;
  /** How long a worker may leave pings unanswered before it counts as lost (default 10 s). */
  readonly silenceMs?: number;
}

/** One worker's registry, by its id. */
export interface WorkerSnapshot {
  readonly id: number;
  readonly snapshot: RegistrySnapshot;
}

/** The running pool. */
export interface WorkerPool {
  /** Resolves once every worker listens; rejects when one could not start (ConfigError). */
  readonly started: Promise<void>;
  /** Workers listening now. */
  readonly running: number;
  /** Tells every worker but `except` to drop this session (`*`: all sessions). */
  purge(key: string, except?: number): void;
  /**
   * Every listening worker's registry (its last one if it does not answer within
   * `timeoutMs`), and the counters of workers lost since the start.
   */
  snapshots(timeoutMs?: number): Promise<{ workers: WorkerSnapshot[]; retired: RegistrySnapshot }>;
  /** Drains every worker within `graceMs`, then ends them. */
  stop(graceMs: number): Promise<void>;
}

/** Lost this soon after its start, a worker is started again only after a delay. */
const QUICK_LOSS_MS = 10_000;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** One worker id and the thread that currently serves as it. */
interface Slot {
  readonly id: number;
  generation: number;
  worker?: WorkerHandle;
  state: "starting" | "ready" | "waiting" | "stopped";
  startedAt: number;
  lastSeen: number;
  /** Its registry as last seen, kept for when it does not answer, and retired when lost. */
  snapshot?: RegistrySnapshot;
  /** Losses in a row, each within QUICK_LOSS_MS of its start. */
  quickLosses: number;
  restartTimer?: ReturnType<typeof setTimeout>;
  /** The first start's outcome (generation 0 only). */
  first?: { resolve: () => void; reject: (err: Error) => void };
  /** Answers awaited from this worker, by sequence number. */
  readonly waiting: Map<number, (message: FromWorker) => void>;
  stopped?: () => void;
}

/** Starts `count` workers and keeps them running until `stop`. */
export function startWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const { logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const silenceMs = options.silenceMs ?? 10_000;
  const slots: Slot[] = [];
  let stopping = false;
  let seq = 0;
  let retired: RegistrySnapshot = [];

  const send = (slot: Slot, message: ToWorker) => {
    try {
      slot.worker?.postMessage(message);
    } catch {
      // A thread that is gone: the heartbeat finds it.
    }
  };

  const start = (slot: Slot) => {
    slot.generation++;
    slot.state = "starting";
    slot.startedAt = slot.lastSeen = Date.now();
    const worker = options.spawn(slot.id);
    slot.worker = worker;
    const current = () => slot.worker === worker && !stopping;
    worker.addEventListener("message", (event) => {
      if (slot.worker !== worker) return;
      slot.lastSeen = Date.now();
      onMessage(slot, (event as MessageEvent<FromWorker>).data);
    });
    worker.addEventListener("error", (event) => {
      // Handled here: unhandled, a worker's error would end the whole process.
      event.preventDefault();
      if (current()) lost(slot, `crashed: ${(event as ErrorEvent).message}`);
    });
    send(slot, { ...options.start, type: "start", id: slot.id, generation: slot.generation });
  };

  const onMessage = (slot: Slot, message: FromWorker) => {
    switch (message.type) {
      case "ready":
        slot.state = "ready";
        slot.first?.resolve();
        slot.first = undefined;
        if (slot.generation > 0) logger.info(`worker ${slot.id} is serving again`);
        return;
      case "failed":
        if (slot.first !== undefined) {
          const err = message.config
            ? new ConfigError(message.message)
            : new Error(message.message);
          slot.first.reject(err);
          slot.first = undefined;
        } else if (!stopping) {
          lost(slot, `could not start: ${message.message}`);
        }
        return;
      case "revoked":
        pool.purge(message.key, slot.id);
        options.onRevoked?.(message.key);
        return;
      case "stopped":
        slot.stopped?.();
        return;
      case "pong":
      case "metrics":
        slot.waiting.get(message.seq)?.(message);
        return;
    }
  };

  /** Ends a worker that failed and starts its replacement. */
  const lost = (slot: Slot, why: string) => {
    if (stopping || slot.state === "waiting" || slot.state === "stopped") return;
    if (slot.first !== undefined) {
      slot.first.reject(new Error(`worker ${slot.id} ${why}`));
      slot.first = undefined;
    }
    slot.worker?.terminate();
    slot.worker = undefined;
    slot.state = "waiting";
    // Counters only: a lost worker's open connections are closed, its gauges no longer true.
    if (slot.snapshot !== undefined) retired = mergeSnapshots([retired, countersOf(slot.snapshot)]);
    slot.snapshot = undefined;
    for (const answer of slot.waiting.values()) answer({ type: "stopped" });
    slot.waiting.clear();
    const quick = Date.now() - slot.startedAt < QUICK_LOSS_MS;
    slot.quickLosses = quick ? slot.quickLosses + 1 : 0;
    const delay = slot.quickLosses === 0
      ? 0
      : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (slot.quickLosses - 1));
    logger.error(
      `worker ${slot.id} ${why}; starting it again${delay > 0 ? ` in ${delay / 1000} s` : ""}`,
    );
    options.onRestart?.();
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!stopping) start(slot);
    }, delay);
  };

  const heartbeat = setInterval(() => {
    const now = Date.now();
    for (const slot of slots) {
      // A start (modules, engine, listener) takes well under a second; one that never ends
      // is as lost as a worker that stopped answering.
      if (slot.state === "starting" && slot.generation > 0 && now - slot.lastSeen > 3 * silenceMs) {
        lost(slot, `did not start within ${3 * silenceMs / 1000} s`);
      }
      if (slot.state !== "ready") continue;
      if (now - slot.lastSeen > silenceMs) {
        lost(
          slot,
          `did not answer for ${silenceMs / 1000} s (its event loop is blocked, or it ended)`,
        );
      } else send(slot, { type: "ping", seq: ++seq });
    }
  }, heartbeatMs);

  const firsts: Promise<void>[] = [];
  for (let id = 1; id <= options.count; id++) {
    const slot: Slot = {
      id,
      generation: -1,
      state: "starting",
      startedAt: 0,
      lastSeen: 0,
      quickLosses: 0,
      waiting: new Map(),
    };
    firsts.push(new Promise((resolve, reject) => slot.first = { resolve, reject }));
    slots.push(slot);
    start(slot);
  }

  /** One answer from `slot` to `message`, or undefined after `timeoutMs`. */
  const ask = (slot: Slot, message: ToWorker & { seq: number }, timeoutMs: number) =>
    new Promise<FromWorker | undefined>((resolve) => {
      const timer = setTimeout(() => {
        slot.waiting.delete(message.seq);
        resolve(undefined);
      }, timeoutMs);
      slot.waiting.set(message.seq, (answer) => {
        clearTimeout(timer);
        slot.waiting.delete(message.seq);
        resolve(answer);
      });
      send(slot, message);
    });

  const pool: WorkerPool = {
    started: Promise.all(firsts).then(() => {}),
    get running() {
      return slots.filter((s) => s.state === "ready").length;
    },
    purge(key, except) {
      for (const slot of slots) {
        if (slot.id !== except && slot.state === "ready") send(slot, { type: "purge", key });
      }
    },
    async snapshots(timeoutMs = 1000) {
      const ready = slots.filter((s) => s.state === "ready");
      const workers = await Promise.all(ready.map(async (slot) => {
        const answer = await ask(slot, { type: "metrics", seq: ++seq }, timeoutMs);
        if (answer?.type === "metrics") slot.snapshot = answer.snapshot;
        return { id: slot.id, snapshot: slot.snapshot ?? [] };
      }));
      return { workers, retired };
    },
    async stop(graceMs) {
      stopping = true;
      clearInterval(heartbeat);
      const draining: Promise<void>[] = [];
      for (const slot of slots) {
        clearTimeout(slot.restartTimer);
        if (slot.state === "ready") {
          draining.push(new Promise((resolve) => slot.stopped = resolve));
          send(slot, { type: "stop", graceMs });
        }
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      // The workers' own deadline is graceMs; a second more for them to say so.
      const deadline = new Promise<void>((r) => timer = setTimeout(r, graceMs + 1000));
      await Promise.race([Promise.all(draining), deadline]);
      clearTimeout(timer);
      for (const slot of slots) {
        slot.worker?.terminate();
        slot.worker = undefined;
        slot.state = "stopped";
      }
    },
  };
  // Rejections are the owner's to handle (through `started`); never unhandled here.
  pool.started.catch(() => {});
  return pool;
}
