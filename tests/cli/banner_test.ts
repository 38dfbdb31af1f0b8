import { readyBanner } from "../../src/cli/banner.ts";
import { parseConfig } from "../../src/config/parse.ts";
import { assertEquals } from "../_support/assert.ts";

const proxy = parseConfig({
  command: "proxy",
  appUrl: "http://127.0.0.1:3000",
  options: { sdkUrl: "http://127.0.0.1:4433" },
  env: {},
});
const local = parseConfig({
  command: "local",
  appUrl: "http://127.0.0.1:3000",
  options: { sdkUrl: "http://127.0.0.1:4433" },
  env: {},
});

function line(banner: string, label: string): string | undefined {
  return banner.split("\n").find((l) => l.startsWith(`  ${label}:`))?.replace(/^ +[^:]+: +/, "");
}

Deno.test("readyBanner() says where the signing key came from", async (t) => {
  const cases: [string, Parameters<typeof readyBanner>[2], string | undefined][] = [
    ["no details", {}, undefined],
    [
      "a key for this run",
      { keys: { kid: "k1", count: 1 } },
      "kid k1, new for this run (--jwks <file> keeps it)",
    ],
    [
      "created",
      { keys: { kid: "k1", count: 1, file: { path: "./jwks.json", created: true } } },
      "kid k1, created in ./jwks.json",
    ],
    [
      "loaded, with rotation keys",
      { keys: { kid: "k2", count: 3, file: { path: "./jwks.json", created: false } } },
      "kid k2, loaded from ./jwks.json (3 keys published)",
    ],
  ];
  for (const [name, details, expected] of cases) {
    await t.step(name, () => {
      assertEquals(line(readyBanner(proxy, "1.0.0", details), "JWT signing key"), expected);
    });
  }
});

Deno.test("readyBanner() for proxy local names the CA and the plain-http redirect", () => {
  const banner = readyBanner(local, "1.0.0", {
    tls: { caFile: "/home/ada/.config/orygate/ca.pem", caFingerprint: "AB:CD" },
  });
  assertEquals(line(banner, "local CA"), "/home/ada/.config/orygate/ca.pem");
  assertEquals(line(banner, "CA fingerprint"), "SHA-256 AB:CD");
  assertEquals(
    line(banner, "plain http"),
    "http://localhost:4000 is redirected to https://localhost:4000",
  );
  const given = readyBanner(local, "1.0.0", { tls: { certFile: "cert.pem" } });
  assertEquals(line(given, "certificate"), "cert.pem (--tls-cert)");
  assertEquals(line(given, "local CA"), undefined);
  assertEquals(line(readyBanner(proxy, "1.0.0"), "plain http"), undefined);
});

Deno.test("readyBanner() says how many workers serve", () => {
  assertEquals(line(readyBanner(proxy, "1.0.0"), "workers"), "1");
  assertEquals(
    line(readyBanner(proxy, "1.0.0", { workers: 4 }), "workers"),
    "4 (event loops sharing the port)",
  );
  const tunnel = parseConfig({
    command: "tunnel",
    appUrl: "http://127.0.0.1:3000",
    options: { sdkUrl: "http://127.0.0.1:4433" },
    env: {},
  });
  assertEquals(
    line(readyBanner(tunnel, "1.0.0", { workers: 2 }), "workers"),
    "2 (event loops sharing the port)",
  );
});

Deno.test("readyBanner() lists the access rules and identity headers", () => {
  const ruled = parseConfig({
    command: "proxy",
    appUrl: "http://127.0.0.1:3000",
    options: {
      sdkUrl: "http://127.0.0.1:4433",
      requireAal2: ["/billing", "/admin/*"],
      requireVerifiedEmail: ["/inbox"],
      requireIdentity: ["/admin metadata_public.role=admin"],
      identityHeaders: true,
    },
    env: {},
  });
  const banner = readyBanner(ruled, "1.0.0");
  assertEquals(line(banner, "AAL2 paths"), "/billing, /admin/*");
  assertEquals(line(banner, "verified email"), "/inbox");
  assertEquals(line(banner, "identity rules"), '"/admin metadata_public.role=admin"');
  assertEquals(
    line(banner, "identity headers"),
    "X-Ory-Identity-Id, X-Ory-Session-Id, X-Ory-Identity-Email, X-Ory-Aal",
  );
  const plain = readyBanner(proxy, "1.0.0");
  for (const label of ["AAL2 paths", "verified email", "identity rules", "identity headers"]) {
    assertEquals(line(plain, label), undefined);
  }
});
