/**
 * Session revocation across instances, over a Redis channel: a logout one instance sees is
 * published (the session's cache key, a SHA-256 hash, never the credential), and every
 * instance subscribed drops that session from its cache. Redis is an accelerator, not a
 * dependency: while it is unreachable each instance keeps serving with its own cache TTL, the
 * outage is logged once and every failure counted, and the client reconnects by itself. On
 * reconnecting, the local cache is dropped, since purges sent meanwhile were lost.
 *
 * @example
 * ```ts ignore
 * const bus = connectRevocationBus("redis://127.0.0.1:6379", {
 *   logger, onRevoked: (key) => key === "*" ? cache.clear() : cache.delete(key),
 *   onResync: () => cache.clear(), countError: () => {},
 * });
 * bus.publish(credentials.key);
 * ```
 */
import { createClient } from "@redis/client";
import type { Logger } from "../log/logger.ts";

/** The channel every instance publishes logouts on and listens to. */
export const REVOCATION_CHANNEL = "orygate:session-revocations";

/** What a purge names: one session's cache key, or `*` for every session. */
const MESSAGE = /^(?:[0-9a-f]{64}|\*)$/;

/** The connection to the other instances. */
export interface RevocationBus {
  /** Tells every instance that this cache key's session ended (`*`: all sessions). */
  publish(key: string): void;
  /** Disconnects. */
  close(): Promise<void>;
}

/** What a session cache does when the bus tells it of a logout. */
export interface RevocationHandlers {
  /** A purge from any instance (this one included): a cache key, or `*`. */
  readonly onRevoked: (key: string) => void;
  /** The subscription is back after an outage: purges may have been missed. */
  readonly onResync: () => void;
}

/** What the bus does on its events. */
export interface RevocationBusOptions extends RevocationHandlers {
  readonly logger: Logger;
  /** One failure talking to Redis (a connection error, a failed publish). */
  readonly countError: () => void;
}

/** Delay before reconnect attempt `n`: 50 ms doubling, at most 2 s. */
const backoff = (retries: number) => Math.min(50 * 2 ** retries, 2000);

/** Connects (in the background) to Redis at `url` and subscribes to the revocation channel. */
export function connectRevocationBus(url: string, options: RevocationBusOptions): RevocationBus {
  const { logger } = options;
  const where = redacted(url);
  const socket = { reconnectStrategy: backoff, connectTimeout: 2000 };
  // A publish while disconnected fails at once (and is counted) instead of queueing without
  // bound; the subscriber keeps its queue so its SUBSCRIBE waits for the first connection.
  const publisher = createClient({ url, socket, disableOfflineQueue: true });
  const subscriber = createClient({ url, socket });
  let down = false;
  let closing = false;

  const failed = (err: unknown) => {
    if (closing) return;
    options.countError();
    if (down) return;
    down = true;
    logger.warn(
      `Redis at ${where} is unreachable (${(err as Error)?.message ?? err}): logouts seen by ` +
        "other instances reach this one only when its session cache expires; reconnecting",
    );
  };
  publisher.on("error", failed);
  subscriber.on("error", failed);
  subscriber.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info(`Redis at ${where} is reachable again: session purges flow again`);
    options.onResync();
  });

  // node-redis resubscribes by itself after a reconnect.
  void subscriber.subscribe(REVOCATION_CHANNEL, (message: string) => {
    if (MESSAGE.test(message)) options.onRevoked(message);
  }).catch(failed);
  void subscriber.connect().catch(failed);
  void publisher.connect().catch(failed);

  return {
    publish(key) {
      if (!publisher.isReady) return failed(new Error("not connected"));
      publisher.publish(REVOCATION_CHANNEL, key).catch(failed);
    },
    async close() {
      closing = true;
      publisher.destroy();
      subscriber.destroy();
      await Promise.resolve();
    },
  };
}

/** The URL without its password, for logs. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.href;
  } catch {
    return "(the --redis-url)";
  }
}
