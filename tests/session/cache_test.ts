import { createTtlCache } from "../../src/session/cache.ts";
import { assertEquals } from "../_support/assert.ts";

Deno.test("createTtlCache()", async (t) => {
  let now = 1000;
  const clock = () => now;
  await t.step("reuses a value until it expires", async () => {
    const cache = createTtlCache<number>({ maxEntries: 10, now: clock });
    let loads = 0;
    const load = () => Promise.resolve({ value: ++loads, expiresAt: now + 100 });
    assertEquals(await cache.get("k", load), 1);
    now += 99;
    assertEquals(await cache.get("k", load), 1);
    now += 1;
    assertEquals(await cache.get("k", load), 2);
  });
  await t.step("peek() gives a fresh value without loading, nothing once expired", async () => {
    const cache = createTtlCache<number>({ maxEntries: 10, now: clock });
    assertEquals(cache.peek("k"), undefined);
    await cache.get("k", () => Promise.resolve({ value: 5, expiresAt: now + 10 }));
    assertEquals(cache.peek("k"), 5);
    now += 10;
    assertEquals(cache.peek("k"), undefined);
    assertEquals(cache.size, 0);
  });
  await t.step("single-flight: concurrent gets share one load", async () => {
    const cache = createTtlCache<number>({ maxEntries: 10, now: clock });
    let loads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const load = async () => {
      loads++;
      await gate;
      return { value: 7, expiresAt: now + 100 };
    };
    const all = Promise.all(Array.from({ length: 50 }, () => cache.get("k", load)));
    release();
    assertEquals(new Set(await all), new Set([7]));
    assertEquals(loads, 1);
  });
  await t.step("values already expired are not stored", async () => {
    const cache = createTtlCache<number>({ maxEntries: 10, now: clock });
    await cache.get("k", () => Promise.resolve({ value: 1, expiresAt: 0 }));
    assertEquals(cache.size, 0);
  });
  await t.step("delete during a load keeps the stale result out", async () => {
    const cache = createTtlCache<number>({ maxEntries: 10, now: clock });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pending = cache.get("k", async () => {
      await gate;
      return { value: 1, expiresAt: now + 100 };
    });
    cache.delete("k");
    release();
    await pending;
    assertEquals(cache.size, 0);
  });
  await t.step("is bounded, dropping the least recently used", async () => {
    const cache = createTtlCache<string>({ maxEntries: 3, now: clock });
    for (const k of ["a", "b", "c"]) {
      await cache.get(k, () => Promise.resolve({ value: k, expiresAt: now + 100 }));
    }
    await cache.get("a", () => Promise.resolve({ value: "reloaded", expiresAt: now + 100 }));
    await cache.get("d", () => Promise.resolve({ value: "d", expiresAt: now + 100 }));
    assertEquals(cache.size, 3);
    assertEquals(
      await cache.get("a", () => Promise.resolve({ value: "x", expiresAt: now + 100 })),
      "a",
    );
    assertEquals(
      await cache.get("b", () => Promise.resolve({ value: "new", expiresAt: now + 100 })),
      "new",
    );
  });
  await t.step("a failed load is not cached and rejects every waiter", async () => {
    const cache = createTtlCache<number>({ maxEntries: 3, now: clock });
    const results = await Promise.allSettled(
      [1, 2].map(() => cache.get("k", () => Promise.reject(new Error("x")))),
    );
    assertEquals(results.map((r) => r.status), ["rejected", "rejected"]);
    assertEquals(await cache.get("k", () => Promise.resolve({ value: 3, expiresAt: now + 1 })), 3);
  });
});
