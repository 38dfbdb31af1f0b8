/**
 * Revocation across instances through the real CLI: three orygate processes behind one nginx
 * (round-robin) in front of one Ory stand-in, joined by a real redis-server. A logout through
 * any instance stops every instance minting JWTs for that session within 200 ms, although
 * each caches sessions for a minute; with Redis stopped they keep serving; once it is back,
 * purges flow again.
 */
import { type CliProcess, freePort, runCliOnce, startCli } from "../_support/cli.ts";
import { startFakeOry } from "../_support/fake_ory.ts";
import { scrape } from "../_support/prometheus.ts";
import { startNginxBalancer, startRedis } from "../_support/servers.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The Authorization the app received for a request with session cookie `token`. */
async function appAuthorization(base: string, token: string): Promise<string | undefined> {
  const res = await fetch(`${base}/echo`, { headers: { cookie: `ory_kratos_session=${token}` } });
  assertEquals(res.status, 200);
  return (await res.json()).headers.authorization;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

Deno.test(
  "revocation: a logout through one instance reaches all three through Redis",
  opts,
  async (t) => {
    const ory = startFakeOry();
    const app = startTestApp();
    let redis = await startRedis();
    const redisPort = redis.port;
    const ports = [freePort(), freePort(), freePort()];
    const metricsPorts = [freePort(), freePort(), freePort()];
    const nginx = await startNginxBalancer(ports);
    const front = `http://127.0.0.1:${nginx.port}`;
    const instances: CliProcess[] = await Promise.all(ports.map((port, i) =>
      startCli([
        "proxy",
        app.origin,
        front,
        "--sdk-url",
        ory.origin,
        "--session-cache-ttl",
        "60s",
        "--metrics-address",
        `127.0.0.1:${metricsPorts[i]}`,
      ], { port, env: { ORYGATE_REDIS_URL: `redis://127.0.0.1:${redisPort}` } })
    ));
    const direct = instances.map((p) => `http://127.0.0.1:${p.port}`);

    /** The session is used on all three (round-robin), logged out through nginx: 200 ms later
     * none of the three gives the app a JWT for it. */
    const logoutReachesAll = async (token: string) => {
      ory.sessions.set(token, { id: `s-${token}`, identityId: `id-${token}`, email: "a@b.c" });
      const before = ory.whoamiCalls;
      for (let i = 0; i < 3; i++) assert(await appAuthorization(front, token));
      // Three different caches asked Ory once each; every instance has it cached for 60 s now.
      assertEquals(ory.whoamiCalls - before, 3);
      for (const base of direct) assert(await appAuthorization(base, token));
      assertEquals(ory.whoamiCalls - before, 3);

      const res = await fetch(`${front}/.ory/self-service/logout`, {
        headers: { cookie: `ory_kratos_session=${token}` },
        redirect: "manual",
      });
      await res.body?.cancel();
      assertEquals(res.status, 303);
      const loggedOut = performance.now();
      await sleep(200 - (performance.now() - loggedOut));
      for (const base of direct) {
        assertEquals(await appAuthorization(base, token), undefined, `${base} still minted a JWT`);
      }
      // Each instance asked Ory again (its cache was purged), and Ory said no.
      assertEquals(ory.whoamiCalls - before, 6);
    };

    try {
      await t.step(
        "a logout through one instance: within 200 ms no instance mints a JWT",
        () => logoutReachesAll("first"),
      );

      await t.step("Redis stopped: every instance keeps serving, logs once, counts", async () => {
        await redis.stop();
        ory.sessions.set("during", { id: "s-d", identityId: "id-d", email: "d@b.c" });
        // Long enough for several reconnect attempts (50 ms doubling, 2 s at most).
        const until3s = Date.now() + 3000;
        while (Date.now() < until3s) {
          for (const base of direct) assert(await appAuthorization(base, "during"));
          assert(await appAuthorization(front, "during"));
          await sleep(100);
        }
        for (const [i, proxy] of instances.entries()) {
          const ready = await fetch(`${direct[i]}/.ory/proxy/health/ready`);
          await ready.body?.cancel();
          assertEquals(ready.status, 200, "readiness does not depend on Redis");
          assertEquals(proxy.output().match(/Redis at \S+ is unreachable/g)?.length, 1);
          const m = await scrape(`http://127.0.0.1:${metricsPorts[i]}/metrics`);
          assert(m.value("orygate_redis_errors_total") >= 1);
        }
      });

      await t.step(
        "Redis back: instances reconnect by themselves and purges flow again",
        async () => {
          redis = await startRedis(redisPort);
          for (const proxy of instances) {
            await until(
              "every instance reconnected",
              () => proxy.output().includes("is reachable again: session purges flow again"),
            );
          }
          await logoutReachesAll("second");
        },
      );
    } catch (err) {
      for (const p of instances) console.error(`--- orygate output ---\n${p.output()}`);
      throw err;
    } finally {
      await Promise.all(instances.map((p) => p.stop()));
      await nginx.stop();
      await redis.stop();
      await app.close();
      await ory.close();
    }
  },
);

Deno.test("revocation: a --redis-url that is not redis:// or rediss:// exits 2", async () => {
  const args = ["proxy", "http://127.0.0.1:1", "--sdk-url", "http://127.0.0.1:1"];
  for (
    const [extra, env, message] of [
      [["--redis-url", "http://127.0.0.1:6379"], {}, "--redis-url: a redis:// or rediss://"],
      [[], { ORYGATE_REDIS_URL: "nope" }, "ORYGATE_REDIS_URL nope: it is not a URL"],
    ] as const
  ) {
    const out = await runCliOnce([...args, ...extra, "--port", String(freePort())], env);
    assertEquals(out.code, 2);
    assertEquals(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
    assert(out.stderr.startsWith(`orygate: Cannot use ${message}`), out.stderr);
  }
});
