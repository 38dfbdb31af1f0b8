/**
 * Shared keys through the real CLI: `orygate jwks create|rotate`, a read-only `--jwks` file,
 * `ORYGATE_JWKS` (a path or the JSON itself), and instances that verify each other's JWTs.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { type CliProcess, freePort, runCliOnce, startCli } from "../_support/cli.ts";
import { type FakeOry, startFakeOry } from "../_support/fake_ory.ts";
import { startTestApp, type TestApp } from "../_support/test_app.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** One line on stderr, exit 2, nothing on stdout. */
function assertUserMistake(out: { code: number; stdout: string; stderr: string }, re: RegExp) {
  assertEquals(out.code, 2, out.stderr);
  assertEquals(out.stdout, "");
  assertEquals(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
  assertMatch(out.stderr, re);
}

/** The JWT the app receives for session token `tok` through `proxy`. */
async function jwtThrough(proxy: CliProcess): Promise<string> {
  const body = await (await fetch(`${proxy.url}/echo`, { headers: { "x-session-token": "tok" } }))
    .json();
  const auth: string | undefined = body.headers.authorization;
  assert(auth?.startsWith("Bearer "), JSON.stringify(body.headers));
  return auth!.slice("Bearer ".length);
}

async function publishedKeys(proxy: CliProcess) {
  return createLocalJWKSet(await (await fetch(`${proxy.url}/.ory/jwks.json`)).json());
}

async function withInstances(
  envs: Record<string, string>[],
  fn: (s: { ory: FakeOry; proxies: CliProcess[] }) => Promise<void>,
) {
  const app: TestApp = startTestApp();
  const ory = startFakeOry();
  ory.sessions.set("tok", { id: "s1", identityId: "id-1", email: "a@example.com" });
  const proxies = await Promise.all(
    envs.map((env) => startCli(["proxy", app.origin, "--sdk-url", ory.origin], { env })),
  );
  try {
    await fn({ ory, proxies });
  } catch (err) {
    for (const p of proxies) console.error(`--- orygate output ---\n${p.output()}`);
    throw err;
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    await app.close();
    await ory.close();
  }
}

Deno.test("jwks create prints a new private ES256 JWK Set with kid", async () => {
  const out = await runCliOnce(["jwks", "create"]);
  assertEquals([out.code, out.stderr], [0, ""]);
  const set = JSON.parse(out.stdout);
  assertEquals(set.keys.length, 1);
  const [key] = set.keys;
  assertEquals([key.kty, key.crv, key.alg, key.use], ["EC", "P-256", "ES256", "sig"]);
  assert(typeof key.d === "string" && typeof key.kid === "string" && key.kid !== "");
  const again = JSON.parse((await runCliOnce(["jwks", "create"])).stdout);
  assert(again.keys[0].kid !== key.kid, "two creates gave the same key");
});

Deno.test("jwks rotate", opts, async (t) => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/jwks.json`;
  const original = (await runCliOnce(["jwks", "create"])).stdout;
  await Deno.writeTextFile(file, original, { mode: 0o600 });
  const oldKid = JSON.parse(original).keys[0].kid;

  await t.step("prints a new signing key first, keeps the old one, leaves the file", async () => {
    const out = await runCliOnce(["jwks", "rotate", file]);
    assertEquals([out.code, out.stderr], [0, ""]);
    const kids = JSON.parse(out.stdout).keys.map((k: { kid: string }) => k.kid);
    assertEquals(kids.length, 2);
    assert(kids[0] !== oldKid);
    assertEquals(kids[1], oldKid);
    assertEquals(await Deno.readTextFile(file), original);
  });
  await t.step("--force rewrites the file, keeping its mode", async () => {
    const out = await runCliOnce(["jwks", "rotate", file, "--force"]);
    assertEquals([out.code, out.stdout], [0, ""]);
    assertMatch(out.stderr, /^orygate: rotated .*: kid \S+ signs now; 1 older key\(s\) kept/);
    const keys = JSON.parse(await Deno.readTextFile(file)).keys;
    assertEquals([keys.length, keys[1].kid], [2, oldKid]);
    assertEquals((await Deno.stat(file)).mode! & 0o777, 0o600);
    assertEquals([...Deno.readDirSync(dir)].length, 1); // no temporary file left
  });
  await t.step("--force on a read-only file: exit 2, file untouched", async () => {
    const before = await Deno.readTextFile(file);
    await Deno.chmod(file, 0o444);
    assertUserMistake(
      await runCliOnce(["jwks", "rotate", file, "--force"]),
      /^orygate: Cannot rewrite .*: it is read-only/,
    );
    assertEquals(await Deno.readTextFile(file), before);
  });
  await t.step("bad input: exit 2 with one line", async () => {
    await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
    const pub = JSON.parse(original);
    delete pub.keys[0].d;
    await Deno.writeTextFile(`${dir}/public.json`, JSON.stringify(pub));
    await Deno.writeTextFile(`${dir}/empty.json`, `{"keys": []}`);
    assertUserMistake(
      await runCliOnce(["jwks", "rotate", `${dir}/missing.json`]),
      /^orygate: Cannot read .*missing\.json: No such file/,
    );
    assertUserMistake(await runCliOnce(["jwks", "rotate", `${dir}/bad.json`]), /it is not JSON/);
    assertUserMistake(
      await runCliOnce(["jwks", "rotate", `${dir}/public.json`]),
      /key 0 is not an ES256 private key/,
    );
    assertUserMistake(
      await runCliOnce(["jwks", "rotate", `${dir}/empty.json`]),
      /with at least one key/,
    );
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("proxy: bad --jwks / ORYGATE_JWKS input exits 2 with one line", opts, async () => {
  const dir = await Deno.makeTempDir();
  const args = [
    "proxy",
    "http://127.0.0.1:1",
    "--sdk-url",
    "http://127.0.0.1:1",
    "--port",
    String(freePort()),
  ];
  await Deno.writeTextFile(`${dir}/bad.json`, "not json");
  await Deno.mkdir(`${dir}/a-directory`);
  assertUserMistake(
    await runCliOnce(args, { ORYGATE_JWKS: `${dir}/bad.json` }),
    /^orygate: Cannot use ORYGATE_JWKS .*bad\.json: it is not JSON/,
  );
  assertUserMistake(
    await runCliOnce(args, { ORYGATE_JWKS: `{"keys": [{"kty": "EC"}]}` }),
    /^orygate: Cannot use ORYGATE_JWKS: key 0 is not an ES256 private key/,
  );
  assertUserMistake(
    await runCliOnce(args, { ORYGATE_JWKS: "{ not json" }),
    /^orygate: Cannot use ORYGATE_JWKS: it is not JSON/,
  );
  assertUserMistake(
    await runCliOnce([...args, "--jwks", `${dir}/a-directory`]),
    /^orygate: Cannot read --jwks .*a-directory: /,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("proxy: a read-only --jwks file is loaded and never written", opts, async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/jwks.json`;
  const text = (await runCliOnce(["jwks", "create"])).stdout;
  await Deno.writeTextFile(file, text);
  await Deno.chmod(file, 0o444);
  await Deno.chmod(dir, 0o555); // as a Secret mount: nothing can be created beside it either
  const before = await Deno.stat(file);
  try {
    await withInstances([{ ORYGATE_JWKS: file }], async ({ proxies: [proxy] }) => {
      const kid = JSON.parse(text).keys[0].kid;
      assertMatch(proxy.output(), new RegExp(`kid ${kid}, loaded from ${file}\\n`));
      const token = await jwtThrough(proxy);
      assertEquals(decodeProtectedHeader(token).kid, kid);
    });
    const after = await Deno.stat(file);
    assertEquals(await Deno.readTextFile(file), text);
    assertEquals([after.mtime, after.mode! & 0o777], [before.mtime, 0o444]);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["jwks.json"]);
  } finally {
    await Deno.chmod(dir, 0o755);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "instances sharing ORYGATE_JWKS verify each other's JWTs, across a rotation",
  opts,
  async (t) => {
    const set = (await runCliOnce(["jwks", "create"])).stdout;
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/jwks.json`, set, { mode: 0o600 });
    // One given the JSON itself, one the path: both forms of the variable.
    await withInstances(
      [{ ORYGATE_JWKS: set }, { ORYGATE_JWKS: `${dir}/jwks.json` }],
      async ({ proxies: [a, b] }) => {
        assertMatch(a.output(), /loaded from the ORYGATE_JWKS value\n/);
        await t.step("a JWT from one verifies with the other's /.ory/jwks.json", async () => {
          const fromA = await jwtThrough(a);
          const fromB = await jwtThrough(b);
          assertEquals((await jwtVerify(fromA, await publishedKeys(b))).payload.sub, "id-1");
          assertEquals((await jwtVerify(fromB, await publishedKeys(a))).payload.sub, "id-1");
        });
        const oldToken = await jwtThrough(a);
        const rotated = await runCliOnce(["jwks", "rotate", `${dir}/jwks.json`]);
        assertEquals(rotated.code, 0, rotated.stderr);
        await t.step("after a rotate, old tokens verify with the new published set", async () => {
          await withInstances([{ ORYGATE_JWKS: rotated.stdout }], async ({ proxies: [c] }) => {
            const keys = await publishedKeys(c);
            assertEquals((await jwtVerify(oldToken, keys)).payload.sub, "id-1");
            const fresh = await jwtThrough(c);
            assertEquals(
              decodeProtectedHeader(fresh).kid,
              JSON.parse(rotated.stdout).keys[0].kid,
            );
            assert(decodeProtectedHeader(fresh).kid !== decodeProtectedHeader(oldToken).kid);
            await jwtVerify(fresh, keys);
          });
        });
      },
    );
    await Deno.remove(dir, { recursive: true });
  },
);
