import { ConfigError } from "../../src/errors.ts";
import { createJwksRoute } from "../../src/jwt/jwks.ts";
import { loadOrCreateKeySet } from "../../src/jwt/keys.ts";
import { assertEquals, assertThrows } from "../_support/assert.ts";

Deno.test("loadOrCreateKeySet()", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/jwks.json`;
  await t.step("creates the file with mode 0600 and one private key", async () => {
    const set = await loadOrCreateKeySet(path);
    assertEquals(set.keys.length, 1);
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    const file = JSON.parse(await Deno.readTextFile(path));
    assertEquals(typeof file.keys[0].d, "string");
  });
  await t.step("loads the same key (same kid) next time", async () => {
    const a = await loadOrCreateKeySet(path);
    const b = await loadOrCreateKeySet(path);
    assertEquals(a.keys[0].kid, b.keys[0].kid);
  });
  await t.step("says whether it created the file or loaded it", async () => {
    const fresh = `${dir}/fresh.json`;
    assertEquals((await loadOrCreateKeySet(fresh)).file, { path: fresh, created: true });
    assertEquals((await loadOrCreateKeySet(fresh)).file, { path: fresh, created: false });
  });
  await t.step("several keys: all published, the first signs", async () => {
    const other = `${dir}/other.json`;
    const k2 = JSON.parse(await Deno.readTextFile(path)).keys[0];
    await loadOrCreateKeySet(other);
    const k1 = JSON.parse(await Deno.readTextFile(other)).keys[0];
    await Deno.writeTextFile(`${dir}/two.json`, JSON.stringify({ keys: [k1, k2] }));
    const set = await loadOrCreateKeySet(`${dir}/two.json`);
    assertEquals(set.keys.map((k) => k.kid), [k1.kid, k2.kid]);
    const jwks = await createJwksRoute(set)(new Request("http://x/")).json();
    assertEquals(jwks.keys.length, 2);
  });
  await t.step("the JWKS never contains private material", async () => {
    const set = await loadOrCreateKeySet(path);
    const text = await createJwksRoute(set)(new Request("http://x/")).text();
    assertEquals(text.includes('"d"'), false);
  });
  await t.step("bad files are config errors", async () => {
    await Deno.writeTextFile(`${dir}/bad.json`, "nope");
    await assertThrows(() => loadOrCreateKeySet(`${dir}/bad.json`), ConfigError, /not JSON/);
    await Deno.writeTextFile(
      `${dir}/pub.json`,
      JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b" }] }),
    );
    await assertThrows(
      () => loadOrCreateKeySet(`${dir}/pub.json`),
      ConfigError,
      /not an ES256 private key/,
    );
    await assertThrows(
      () => loadOrCreateKeySet(`${dir}/missing-dir/x.json`),
      ConfigError,
      /Cannot create/,
    );
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("JWKS route answers 304 to a matching ETag and sets cache headers", async () => {
  const dir = await Deno.makeTempDir();
  const route = createJwksRoute(await loadOrCreateKeySet(`${dir}/k.json`));
  const first = route(new Request("http://x/"));
  assertEquals(first.headers.get("cache-control"), "public, max-age=60, must-revalidate");
  const again = route(
    new Request("http://x/", { headers: { "if-none-match": first.headers.get("etag")! } }),
  );
  assertEquals(again.status, 304);
  await Deno.remove(dir, { recursive: true });
});
