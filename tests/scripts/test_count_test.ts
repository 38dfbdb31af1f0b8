import {
  closingCount,
  countDeclaredTests,
  declaredTests,
  TEST_FILE,
  total,
} from "../../scripts/_test_count.ts";
import { findProgram } from "../../scripts/_required_tools.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);
const FIXTURES = new URL("_fixtures/gate/", import.meta.url);

/** Runs `deno test` on `files` (output captured: its deliberate failures stay out of the log). */
async function denoTest(
  files: string[],
  options: { env?: Record<string, string>; args?: string[] } = {},
): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...(options.args ?? []), ...files],
    cwd: ROOT.pathname,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

Deno.test("countDeclaredTests() counts the Deno.test calls that begin a line", () => {
  const cases: [string, number][] = [
    ['Deno.test("a", () => {});\nDeno.test({ name: "b", fn() {} });', 2],
    ["  Deno.test(\n    'indented, over lines',\n    () => {},\n  );", 1],
    ['Deno.test.ignore("x", () => {});\nDeno.test.only("y", () => {});', 2],
    ['// Deno.test("commented out")\nconst s = "Deno.test(";', 0],
    ['await t.step("a step is not a test", () => {});', 0],
  ];
  for (const [source, expected] of cases) {
    assertEquals(countDeclaredTests(source), expected, source);
  }
});

Deno.test("TEST_FILE matches the files deno test runs, not fixtures or helpers", () => {
  for (const name of ["a_test.ts", "a.test.ts", "test.ts", "b_test.mjs", "c.test.tsx"]) {
    assert(TEST_FILE.test(name), name);
  }
  for (const name of ["a_fixture.ts", "_journey.ts", "contest.ts", "a_test.ts.orig"]) {
    assert(!TEST_FILE.test(name), name);
  }
});

Deno.test("the declared count is what deno test registers for tests/", async () => {
  const declared = total(await declaredTests(new URL("tests/", ROOT)));
  // A filter that matches nothing: every module loads and registers its tests, none runs.
  const { code, out } = await denoTest(["tests/"], {
    args: ["--no-check", "--filter", "/^orygate-matches-no-test$/"],
  });
  assertEquals(code, 0, out);
  assertMatch(out, new RegExp(`\\| ${declared} filtered out`), out.slice(-500));
});

Deno.test("closingCount() counts every declared test, whatever happened to it", async (t) => {
  await t.step("a module that dies while loading counts its tests as failed", async () => {
    const files = ["passes_fixture.ts", "dies_on_load_fixture.ts", "mixed_fixture.ts"];
    let declared = 0;
    for (const file of files) {
      declared += countDeclaredTests(await Deno.readTextFile(new URL(file, FIXTURES)));
    }
    assertEquals(declared, 8);
    const { code, out } = await denoTest(
      files.map((file) => new URL(file, FIXTURES).pathname),
      { args: ["--parallel"] },
    );
    // deno's own count: 3 passed, 2 failed (the dead module and "fails"), 1 ignored — 3 lost.
    assertMatch(out, /FAILED \| 3 passed \| 2 failed \| 1 ignored/);
    const count = closingCount(declared, out, code);
    assertEquals([count.passed, count.failed], [3, 5]);
    assertEquals(count.notes.length, 2, count.notes.join("\n"));
    assertMatch(count.notes[0], /dies_on_load_fixture\.ts died \(an uncaught error\)/);
    assertMatch(count.notes[1], /1 ignored test\(s\) count as failed/);
  });

  await t.step("no summary at all (deno could not start): every test failed", () => {
    const count = closingCount(116, "error: Module not found", 1);
    assertEquals([count.passed, count.failed], [0, 116]);
  });

  await t.step("all passed: the numbers are deno's", () => {
    const out = "ok | 116 passed (360 steps) | 0 failed (2m)\n";
    assertEquals(closingCount(116, out, 0), { passed: 116, failed: 0, notes: [] });
  });

  await t.step("more tests ran than were declared: never fewer failures than deno's", () => {
    const count = closingCount(3, "FAILED | 2 passed | 2 failed (1s)", 1);
    assertEquals([count.passed, count.failed], [2, 2]);
    assertMatch(count.notes[0], /does not see/);
  });
});

Deno.test("without certutil on PATH, trust_store_test.ts loads and fails one test in one line", async () => {
  const bin = await Deno.makeTempDir({ prefix: "orygate-path-" });
  try {
    // Only openssl: the module's other tests need it, the real-certutil test needs certutil.
    const openssl = await findProgram("openssl");
    assert(openssl !== undefined, "openssl is needed to run this test");
    await Deno.symlink(openssl, `${bin}/openssl`);
    const module = "tests/tls/trust_store_test.ts";
    const { code, out } = await denoTest([module], { env: { PATH: bin } });
    const declared = countDeclaredTests(await Deno.readTextFile(new URL(module, ROOT)));
    // Every test but the one that needs certutil runs and passes.
    assert(declared >= 2, `${module} declares ${declared} tests`);
    assertEquals(closingCount(declared, out, code), {
      passed: declared - 1,
      failed: 1,
      notes: [],
    });
    assertMatch(
      out,
      /error: Error: certutil is not installed \(Debian: apt-get install libnss3-tools\)/,
    );
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
