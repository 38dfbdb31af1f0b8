/**
 * A bounded TTL cache with single-flight: concurrent lookups of one key share one load, and
 * entries never outlive their own deadline. Least recently used entries go first when full
 * (approximately: a hit moves its entry to the back only when it is no longer among the most
 * recently moved half, so a hot key costs one map lookup, not a delete and insert).
 *
 * @example
 * ```ts
 * import { createTtlCache } from "./cache.ts";
 * const cache = createTtlCache<string>({ maxEntries: 100 });
 * const v = await cache.get("k", async () => ({ value: "v", expiresAt: Date.now() + 1000 }));
 * console.log(v); // "v"
 * ```
 */

/** A loaded value and the time (ms) it stops being valid; `expiresAt <= now` is not cached. */
export interface Loaded<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/** Cache settings. */
export interface TtlCacheOptions {
  readonly maxEntries: number;
  readonly now?: () => number;
}

/** The cache. */
export interface TtlCache<V> {
  /** Returns a fresh cached value, or undefined (no load). */
  peek(key: string): V | undefined;
  /** Returns a fresh cached value or loads it (once, however many callers wait). */
  get(key: string, load: () => Promise<Loaded<V>>): Promise<V>;
  /** Drops one key (and any load in flight for it). */
  delete(key: string): void;
  /** Drops everything. */
  clear(): void;
  readonly size: number;
}

/** Creates a cache. */
export function createTtlCache<V>(options: TtlCacheOptions): TtlCache<V> {
  const now = options.now ?? Date.now;
  // Map order is the order entries were last moved; `movedAt` counts moves.
  const entries = new Map<string, { loaded: Loaded<V>; movedAt: number }>();
  let moves = 0;
  const recent = options.maxEntries / 2;
  // A load in flight; `dropped` is set when its key is deleted meanwhile, so it is not stored.
  const inflight = new Map<string, { promise: Promise<Loaded<V>>; dropped: boolean }>();

  /** The fresh entry for `key`, marked most recently used; stale ones are dropped. */
  const fresh = (key: string): Loaded<V> | undefined => {
    const hit = entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.loaded.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    if (moves - hit.movedAt > recent) {
      entries.delete(key);
      hit.movedAt = ++moves;
      entries.set(key, hit);
    }
    return hit.loaded;
  };

  return {
    peek: (key) => fresh(key)?.value,
    async get(key, load) {
      const hit = fresh(key);
      if (hit !== undefined) return hit.value;
      const pending = inflight.get(key);
      if (pending !== undefined) return (await pending.promise).value;
      const flight = { promise: load(), dropped: false };
      inflight.set(key, flight);
      try {
        const loaded = await flight.promise;
        if (!flight.dropped && loaded.expiresAt > now()) {
          entries.delete(key);
          entries.set(key, { loaded, movedAt: ++moves });
          while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
        }
        return loaded.value;
      } finally {
        if (inflight.get(key) === flight) inflight.delete(key);
      }
    },
    delete(key) {
      entries.delete(key);
      const flight = inflight.get(key);
      if (flight !== undefined) {
        flight.dropped = true;
        inflight.delete(key);
      }
    },
    clear() {
      entries.clear();
      for (const flight of inflight.values()) flight.dropped = true;
      inflight.clear();
    },
    get size() {
      return entries.size;
    },
  };
}
