/**
 * Help, version and flag mistakes through the real CLI: defaults shown in --help are the ones
 * the parser uses, a flag typed short gets a suggestion on one line with exit 2, and
 * `-V`, `version` and `-v/--version` all print the version.
 */
import { parseConfig, type ParseInput, type RawOptions } from "../../src/config/parse.ts";
import { runCliOnce, startCli } from "../_support/cli.ts";
import { startTestApp } from "../_support/test_app.ts";
import { assertEquals, assertMatch } from "../_support/assert.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** `--flag <value>  text (default: X)` → { flag: X }, with help's line wrapping undone. */
function helpDefaults(help: string): Map<string, string> {
  const options = help.split(/\nOptions:\n/)[1].split(/\n\S/)[0];
  const entries = options.split(/\n(?= {2}-)/).map((e) => e.replace(/\s+/g, " ").trim());
  const defaults = new Map<string, string>();
  for (const entry of entries) {
    const flag = /--[\w-]+/.exec(entry)?.[0];
    const value = /\(default: ([^;,)\s]+)/.exec(entry)?.[1];
    if (flag && value) defaults.set(flag, value);
  }
  return defaults;
}

Deno.test("--help shows the defaults the parser uses", opts, async (t) => {
  for (const command of [["proxy"], ["proxy", "local"], ["tunnel"]]) {
    await t.step(command.join(" "), async () => {
      const { code, stdout } = await runCliOnce([...command, "--help"]);
      assertEquals(code, 0);
      const shown = helpDefaults(stdout);
      for (const flag of ["--port", "--host", "--upstream-timeout", "--header-timeout"]) {
        assertEquals(shown.has(flag), true, `${flag} shows its default`);
      }
      assertEquals(shown.get("--port"), "4000");
      assertEquals(shown.get("--host"), "0.0.0.0");
      // Passing every shown default explicitly must give the same config as passing none.
      const asFlags: RawOptions = {};
      const names: Record<string, keyof RawOptions> = {
        "--port": "port",
        "--host": "host",
        "--endpoint": "endpoint",
        "--upstream-timeout": "upstreamTimeout",
        "--header-timeout": "headerTimeout",
        "--max-rewrite-size": "maxRewriteSize",
        "--jwt-ttl": "jwtTtl",
        "--session-cache-ttl": "sessionCacheTtl",
        "--session-recheck-interval": "sessionRecheckInterval",
      };
      for (const [flag, value] of shown) {
        const name = names[flag];
        if (name) (asFlags as Record<string, string>)[name] = value;
      }
      const kind: ParseInput["command"] = command.length === 2
        ? "local"
        : command[0] as "proxy" | "tunnel";
      const base = { command: kind, appUrl: "http://localhost:3000", env: {} };
      const plain = parseConfig({ ...base, options: { project: "demo" } });
      const explicit = parseConfig({ ...base, options: { project: "demo", ...asFlags } });
      assertEquals(explicit, plain);
      if (kind !== "tunnel") {
        assertEquals(shown.get("--jwt-ttl"), "1m");
        assertEquals(shown.get("--session-cache-ttl"), "10s");
        assertEquals(shown.get("--session-recheck-interval"), "30s");
      }
      assertEquals(shown.get("--max-rewrite-size"), "8mb");
    });
  }
});

Deno.test("a mistyped flag gets one line, a suggestion and exit 2", opts, async (t) => {
  const cases: [string[], RegExp][] = [
    [
      ["proxy", "http://localhost:3000", "--protect-path", "/members"],
      /^orygate: unknown option '--protect-path' \(did you mean --protect-path-prefix\?\)/,
    ],
    [
      ["proxy", "local", "http://localhost:3000", "--dont-install"],
      /did you mean --dont-install-cert\?/,
    ],
    [["proxy", "http://localhost:3000", "--sdkurl", "http://o"], /did you mean --sdk-url\?/],
    [["proxy", "http://localhost:3000", "--jwks-file", "k.json"], /did you mean --jwks\?/],
    [["proxi", "http://localhost:3000"], /unknown command 'proxi' \(did you mean proxy\?\)/],
    // tunnel has no protection: no flag of another command is offered
    [
      ["tunnel", "http://localhost:3000", "--protect-path"],
      /unknown option '--protect-path' \(see/,
    ],
  ];
  for (const [args, re] of cases) {
    await t.step(args.join(" "), async () => {
      const { code, stdout, stderr } = await runCliOnce(args);
      assertEquals(code, 2);
      assertEquals(stdout, "");
      assertMatch(stderr, re);
      assertEquals(stderr.trim().split("\n").length, 1, stderr);
    });
  }
});

Deno.test("-V, version, -v and --version print the version", opts, async (t) => {
  const version = JSON.parse(await Deno.readTextFile("deno.json")).version;
  for (const args of [["-V"], ["version"], ["-v"], ["--version"]]) {
    await t.step(args.join(" "), async () => {
      const { code, stdout, stderr } = await runCliOnce(args);
      assertEquals([code, stdout, stderr], [0, `${version}\n`, ""]);
    });
  }
});

Deno.test("both --sdk-url and --project: a warning says which one is used", opts, async () => {
  const app = startTestApp();
  const proxy = await startCli([
    "proxy",
    app.origin,
    "--sdk-url",
    "http://127.0.0.1:4433",
    "--project",
    "demo",
  ]);
  try {
    assertMatch(
      proxy.output(),
      /warning: both --sdk-url and --project are set: Ory is http:\/\/127\.0\.0\.1:4433 \(from --sdk-url\); --project is ignored\n/,
    );
  } finally {
    await proxy.stop();
    await app.close();
  }
});
