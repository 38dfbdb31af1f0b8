/**
 * What the parent and its workers (`--workers`) say to each other, by `postMessage`
 * (structured clone: the signing keys cross as `CryptoKey`s, never as text).
 *
 * The parent starts a worker with {@linkcode StartWorker}; the worker answers `ready` once it
 * listens, or `failed`. Then the parent pings it every second (a worker that stops answering
 * is replaced), asks for its metrics at each scrape, and passes on purges: a logout one worker
 * saw (`revoked`) goes to every other worker and to Redis (`purge`). `stop` drains it.
 *
 * @module
 */
import type { ParseInput } from "../config/parse.ts";
import type { KeySet } from "../jwt/keys.ts";
import type { RegistrySnapshot } from "../metrics/snapshot.ts";

/** The name every orygate worker is created with: `orygate-worker-<id>`. */
export const WORKER_NAME_PREFIX = "orygate-worker-";

/** What a worker needs to serve: the same command line, keys and certificate as the parent. */
export interface StartWorker {
  readonly type: "start";
  /** 1…n, kept across restarts (the `worker` label and log field). */
  readonly id: number;
  /** 0 for the first start of this id, then one more per restart. */
  readonly generation: number;
  /** Parsed again in the worker into the same config (a `Config` holds URLs, not cloneable). */
  readonly input: ParseInput;
  /** Loaded once by the parent, so every worker signs with the same key. */
  readonly keys?: KeySet;
  /** `proxy local`: the certificate the parent prepared (the CA is made and trusted once). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/** Parent → worker. */
export type ToWorker =
  | StartWorker
  | { readonly type: "ping"; readonly seq: number }
  | { readonly type: "metrics"; readonly seq: number }
  /** Drop this session (a cache key; `*`: all) from the worker's cache. */
  | { readonly type: "purge"; readonly key: string }
  /** Stop accepting, let requests in flight finish for up to `graceMs`, then end. */
  | { readonly type: "stop"; readonly graceMs: number };

/** Worker → parent. */
export type FromWorker =
  | { readonly type: "ready" }
  /** It could not start; `config`: the user's mistake (exit 2), e.g. the port in use. */
  | { readonly type: "failed"; readonly message: string; readonly config: boolean }
  | { readonly type: "pong"; readonly seq: number }
  | { readonly type: "metrics"; readonly seq: number; readonly snapshot: RegistrySnapshot }
  /** This worker saw a logout: the other workers and instances must drop the session too. */
  | { readonly type: "revoked"; readonly key: string }
  | { readonly type: "stopped" };
