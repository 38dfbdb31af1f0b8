import { parseConfig, type ParseInput } from "../../src/config/parse.ts";
import { ConfigError } from "../../src/errors.ts";
import { assertEquals, assertThrows } from "../_support/assert.ts";

const ory = "https://demo.projects.oryapis.com";
const input = (
  over: Partial<ParseInput> = {},
  options: ParseInput["options"] = {},
): ParseInput => ({
  command: "proxy",
  appUrl: "http://localhost:3000",
  env: {},
  ...over,
  options: { sdkUrl: ory, ...options },
});

Deno.test("parseConfig() defaults", () => {
  const c = parseConfig(input());
  assertEquals(c.port, 4000);
  assertEquals(c.publishUrl.href, "http://localhost:4000/");
  assertEquals(c.oryPrefix, "/.ory");
  assertEquals(c.defaultRedirectUrl.href, "http://localhost:4000/");
  assertEquals(c.jwt.enabled, true);
  assertEquals(c.jwt.ttlSeconds, 60);
  assertEquals(c.logLevel, "info");
  assertEquals(c.websocketIdleTimeoutMs, 300_000);
  assertEquals(Object.isFrozen(c) && Object.isFrozen(c.cors), true);
});

Deno.test("parseConfig() derives the URLs the engine joins paths to, once", async (t) => {
  await t.step("proxy: bases without trailing slashes, Ory published under /.ory", () => {
    const c = parseConfig(
      input({ appUrl: "http://127.0.0.1:3000/app/?x=1", publishUrl: "https://www.example.org" }, {
        sdkUrl: "http://127.0.0.1:4433/kratos//",
      }),
    );
    assertEquals(
      [c.oryBase, c.appBase, c.publishOrigin, c.oryPublicBase],
      [
        "http://127.0.0.1:4433/kratos",
        "http://127.0.0.1:3000/app",
        "https://www.example.org",
        "https://www.example.org/.ory",
      ],
    );
  });
  await t.step("tunnel: Ory at the root of the publish origin", () => {
    const c = parseConfig(input({ command: "tunnel" }));
    assertEquals([c.oryBase, c.oryPublicBase], [ory, "http://localhost:4000"]);
  });
});

Deno.test("parseConfig() --websocket-idle-timeout: a duration, 0 for never", () => {
  assertEquals(
    parseConfig(input({}, { websocketIdleTimeout: "90s" })).websocketIdleTimeoutMs,
    90_000,
  );
  assertEquals(parseConfig(input({}, { websocketIdleTimeout: "0" })).websocketIdleTimeoutMs, 0);
  assertThrows(
    () => parseConfig(input({}, { websocketIdleTimeout: "forever" })),
    ConfigError,
    /--websocket-idle-timeout: "forever" is not a duration/,
  );
});

Deno.test("parseConfig() --session-recheck-interval: 30s, 0 for never, else at least 1s", () => {
  const interval = (value?: string) =>
    parseConfig(input({}, { sessionRecheckInterval: value })).jwt.sessionRecheckIntervalMs;
  assertEquals(interval(), 30_000);
  assertEquals(interval("5m"), 300_000);
  assertEquals(interval("1s"), 1000);
  assertEquals(interval("0"), 0);
  assertThrows(
    () => interval("500ms"),
    ConfigError,
    /^Cannot use --session-recheck-interval 500ms: it must be 0 \(no re-checks\) or at least 1s$/,
  );
  assertThrows(() => interval("often"), ConfigError, /--session-recheck-interval: "often" is not/);
});

Deno.test("parseConfig() reads flags and environment", async (t) => {
  await t.step("PORT sets the port and the default publish URL", () => {
    const c = parseConfig(input({ env: { PORT: "8080" } }));
    assertEquals([c.port, c.publishUrl.origin], [8080, "http://localhost:8080"]);
  });
  await t.step("--port wins over PORT", () => {
    assertEquals(parseConfig(input({ env: { PORT: "8080" } }, { port: "9000" })).port, 9000);
  });
  await t.step("ORY_SDK_URL is used when --sdk-url is absent", () => {
    const c = parseConfig({
      command: "proxy",
      appUrl: "http://a:1",
      options: {},
      env: { ORY_SDK_URL: "http://127.0.0.1:4433/" },
    });
    assertEquals(c.oryUrl.href, "http://127.0.0.1:4433/");
  });
  await t.step("--project builds the Ory Network URL, --endpoint changes its base", () => {
    const env = {};
    const a = parseConfig({
      command: "proxy",
      appUrl: "http://a:1",
      options: { project: "my-slug" },
      env,
    });
    assertEquals(a.oryUrl.href, "https://my-slug.projects.oryapis.com/");
    const b = parseConfig({
      command: "proxy",
      appUrl: "http://a:1",
      options: { project: "s", endpoint: "https://staging.example.com" },
      env,
    });
    assertEquals(b.oryUrl.href, "https://s.projects.staging.example.com/");
    const c = parseConfig({
      command: "proxy",
      appUrl: "http://a:1",
      options: {},
      env: { ORY_PROJECT_ID: "abc-123" },
    });
    assertEquals(c.oryUrl.href, "https://abc-123.projects.oryapis.com/");
  });
  await t.step("API key from flag or either env name", () => {
    assertEquals(parseConfig(input({ env: { ORY_API_KEY: "k1" } })).apiKey, "k1");
    assertEquals(
      parseConfig(input({ env: { ORY_PROJECT_API_KEY: "k2", ORY_API_KEY: "k1" } })).apiKey,
      "k2",
    );
    assertEquals(parseConfig(input({ env: { ORY_API_KEY: "k1" } }, { apiKey: "k3" })).apiKey, "k3");
  });
  await t.step("CORS origins are repeatable and comma-separated", () => {
    const c = parseConfig(
      input({}, { allowedCorsOrigins: ["https://a.com,https://*.b.com", "https://c.com/"] }),
    );
    assertEquals(c.cors.origins, ["https://a.com", "https://*.b.com", "https://c.com"]);
  });
  await t.step("a relative --default-redirect-url resolves against the publish URL", () => {
    const c = parseConfig(
      input({ publishUrl: "https://example.org" }, { defaultRedirectUrl: "/welcome" }),
    );
    assertEquals(c.defaultRedirectUrl.href, "https://example.org/welcome");
  });
  await t.step("--default-redirect-url may point at the app or an allowed origin", () => {
    const c = parseConfig(input({}, {
      defaultRedirectUrl: "https://www.example.org/hi",
      allowedCorsOrigins: ["https://*.example.org"],
    }));
    assertEquals(c.defaultRedirectUrl.href, "https://www.example.org/hi");
    const app = parseConfig(input({}, { defaultRedirectUrl: "http://localhost:3000/x" }));
    assertEquals(app.defaultRedirectUrl.href, "http://localhost:3000/x");
  });
  await t.step("ORY_RATE_LIMIT_HEADER becomes the rate-limit action", () => {
    assertEquals(
      parseConfig(input({ env: { ORY_RATE_LIMIT_HEADER: "skip" } })).rateLimitAction,
      "skip",
    );
  });
  await t.step("durations and sizes", () => {
    const c = parseConfig(
      input({}, { jwtTtl: "5m", upstreamTimeout: "1500ms", maxRewriteSize: "2mb" }),
    );
    assertEquals([c.jwt.ttlSeconds, c.upstreamTimeoutMs, c.maxRewriteBytes], [
      300,
      1500,
      2 * 1024 * 1024,
    ]);
  });
});

Deno.test("parseConfig() per command", async (t) => {
  await t.step(
    "tunnel mounts Ory at the root, has no JWT, redirects to the app and allows its origin",
    () => {
      const c = parseConfig(input({ command: "tunnel" }));
      assertEquals([c.mode, c.oryPrefix, c.jwt.enabled], ["tunnel", "", false]);
      assertEquals(c.defaultRedirectUrl.href, "http://localhost:3000/");
      assertEquals(c.cors.origins.includes("http://localhost:3000"), true);
    },
  );
  await t.step("proxy local serves https on localhost and opens the browser", () => {
    const c = parseConfig(input({ command: "local" }));
    assertEquals([c.publishUrl.origin, c.open, c.tls?.installCert], [
      "https://localhost:4000",
      true,
      true,
    ]);
  });
  await t.step("proxy local --no-https --no-open --dont-install-cert", () => {
    const c = parseConfig(
      input({ command: "local" }, { https: false, open: false, dontInstallCert: true }),
    );
    assertEquals([c.publishUrl.origin, c.open, c.tls], ["http://localhost:4000", false, undefined]);
  });
});

Deno.test("parseConfig() refuses bad input with one clear line", async (t) => {
  const cases: [string, ParseInput, RegExp][] = [
    [
      "missing Ory URL",
      { command: "proxy", appUrl: "http://a:1", options: {}, env: {} },
      /Missing Ory URL/,
    ],
    [
      "a path in the publish URL",
      input({ publishUrl: "https://example.org/app" }),
      /may not contain a path/,
    ],
    [
      "a query in the publish URL",
      input({ publishUrl: "https://example.org?x=1" }),
      /may not contain a path/,
    ],
    ["a non-http app URL", input({ appUrl: "ftp://x" }), /must start with http/],
    ["an app URL without scheme", input({ appUrl: "localhost:3000" }), /must start with http/],
    ["garbage URL", input({ appUrl: "http://[::1" }), /is not a URL/],
    ["non-numeric port", input({}, { port: "abc" }), /--port: "abc" is not a number/],
    ["port out of range", input({}, { port: "70000" }), /between 1 and 65535/],
    ["bad PORT env", input({ env: { PORT: "x" } }), /PORT: "x"/],
    ["bad CORS origin", input({}, { allowedCorsOrigins: ["example.org"] }), /not an origin/],
    ["bad cookie domain", input({}, { cookieDomain: "a b;c" }), /not a domain/],
    ["bad duration", input({}, { jwtTtl: "soon" }), /not a duration/],
    ["bad size", input({}, { maxRewriteSize: "big" }), /not a size/],
    ["bad project slug", {
      command: "proxy",
      appUrl: "http://a:1",
      options: { project: "a/b" },
      env: {},
    }, /not a project slug/],
    ["credentials in a URL", input({ appUrl: "http://u:p@a:1" }), /user name and password/],
    ["quiet and debug", input({}, { quiet: true, debug: true }), /either --quiet or --debug/],
    [
      "publish URL for proxy local",
      input({ command: "local", publishUrl: "https://x" }),
      /takes no publish URL/,
    ],
    [
      "header injection in CORS headers",
      input({}, { additionalCorsHeaders: ["x\r\ny"] }),
      /not a header name/,
    ],
    [
      "an open redirect in --default-redirect-url",
      input({}, { defaultRedirectUrl: "https://evil.example/" }),
      /must be on the publish URL, the application, or an --allowed-cors-origins origin/,
    ],
  ];
  for (const [name, given, re] of cases) {
    await t.step(name, async () => {
      await assertThrows(() => parseConfig(given), ConfigError, re);
    });
  }
});

Deno.test("parseConfig(): --log-format and --metrics-address", async (t) => {
  const parse = (options: ParseInput["options"], env: Record<string, string> = {}) =>
    parseConfig({
      command: "proxy",
      appUrl: "http://localhost:3000",
      options: { sdkUrl: "http://127.0.0.1:4433", ...options },
      env,
    });
  await t.step("defaults: text, no metrics", () => {
    const c = parse({});
    assertEquals([c.logFormat, c.metricsAddress], ["text", undefined]);
  });
  await t.step("flags win over the environment", () => {
    assertEquals(parse({ logFormat: "json" }, { ORYGATE_LOG_FORMAT: "text" }).logFormat, "json");
    assertEquals(parse({}, { ORYGATE_LOG_FORMAT: "json" }).logFormat, "json");
    assertEquals(parse({ metricsAddress: "127.0.0.1:9464" }).metricsAddress, {
      hostname: "127.0.0.1",
      port: 9464,
    });
    assertEquals(parse({}, { ORYGATE_METRICS_ADDRESS: "[::1]:9" }).metricsAddress, {
      hostname: "::1",
      port: 9,
    });
    assertEquals(parse({ metricsAddress: ":9464" }).metricsAddress?.hostname, "0.0.0.0");
  });
  await t.step("mistakes are ConfigErrors", async () => {
    for (
      const options of <ParseInput["options"][]> [
        { logFormat: "xml" },
        { metricsAddress: "9464" },
        { metricsAddress: "host:0" },
        { metricsAddress: "" },
        { metricsAddress: ":4000" }, // the public port
        { port: "5000", host: "127.0.0.1", metricsAddress: "0.0.0.0:5000" },
      ]
    ) await assertThrows(() => parse(options), ConfigError);
  });
});

Deno.test("parseConfig(): --workers and ORYGATE_WORKERS", async (t) => {
  const parse = (
    options: ParseInput["options"],
    env: Record<string, string> = {},
    cores = 8,
  ) =>
    parseConfig({
      command: "proxy",
      appUrl: "http://localhost:3000",
      options: { sdkUrl: "http://127.0.0.1:4433", ...options },
      env,
      cores,
    }).workers;
  await t.step("one by default; a count; auto is one per core", () => {
    assertEquals(parse({}), 1);
    assertEquals(parse({ workers: "3" }), 3);
    assertEquals(parse({ workers: "auto" }, {}, 6), 6);
    assertEquals(parse({ workers: " AUTO " }, {}, 1), 1);
    assertEquals(parse({}, { ORYGATE_WORKERS: "4" }), 4);
    assertEquals(parse({ workers: "2" }, { ORYGATE_WORKERS: "4" }), 2);
    assertEquals(parse({}, { ORYGATE_WORKERS: "" }), 1);
  });
  await t.step(
    "0, words, fractions and absurd counts are ConfigErrors naming the setting",
    async () => {
      for (
        const [options, env, re] of <[ParseInput["options"], Record<string, string>, RegExp][]> [
          [
            { workers: "0" },
            {},
            /^Cannot use --workers 0: it must be between 1 and 256 \(or auto\)$/,
          ],
          [
            { workers: "abc" },
            {},
            /^Cannot parse --workers: "abc" is not a count \(use e\.g\. 2, or auto/,
          ],
          [{ workers: "1.5" }, {}, /^Cannot parse --workers: "1\.5" is not a count/],
          [{ workers: "-2" }, {}, /^Cannot parse --workers: "-2" is not a count/],
          [{ workers: "1000" }, {}, /^Cannot use --workers 1000: it must be between 1 and 256/],
          [{}, { ORYGATE_WORKERS: "many" }, /^Cannot parse ORYGATE_WORKERS: "many" is not a count/],
        ]
      ) await assertThrows(() => parse(options, env), ConfigError, re);
    },
  );
});

Deno.test("parseConfig(): access rule flags and --identity-headers", async (t) => {
  const flags = {
    protectPathPrefix: ["/members"],
    requireAal2: ["/billing", "re:^/api/v\\d+/admin"],
    requireVerifiedEmail: ["/inbox"],
    requireIdentity: ["/admin metadata_public.role=admin"],
    identityHeaders: true,
  };
  await t.step("kept as written, in order, not split at commas", () => {
    const c = parseConfig(input({}, { ...flags, requireAal2: ["re:^/a{1,2}/"] }));
    assertEquals(c.requireAal2, ["re:^/a{1,2}/"]);
    assertEquals(c.requireVerifiedEmail, ["/inbox"]);
    assertEquals(c.requireIdentity, ["/admin metadata_public.role=admin"]);
    assertEquals(c.identityHeaders, true);
  });
  await t.step("off by default", () => {
    const c = parseConfig(input());
    assertEquals(
      [c.requireAal2, c.requireVerifiedEmail, c.requireIdentity, c.identityHeaders],
      [[], [], [], false],
    );
  });
  await t.step("the tunnel has no session features: none of them apply", () => {
    const c = parseConfig(input({ command: "tunnel" }, flags));
    assertEquals(
      [c.protect, c.requireAal2, c.requireVerifiedEmail, c.requireIdentity, c.identityHeaders],
      [[], [], [], [], false],
    );
  });
});
