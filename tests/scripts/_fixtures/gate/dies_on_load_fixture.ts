// Dies while loading, as tests/tls/trust_store_test.ts did without certutil: spawning a missing
// program throws synchronously, so the probe's .then(…, () => false) never sees it.
const found = await new Deno.Command("orygate-no-such-program").output().then(
  () => true,
  () => false,
);

Deno.test("never runs 1", () => {});
Deno.test({ name: "never runs 2", ignore: !found, fn() {} });
Deno.test("never runs 3", () => {});
