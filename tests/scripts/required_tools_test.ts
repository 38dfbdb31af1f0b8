import {
  CERTUTIL,
  findProgram,
  missingLine,
  missingTools,
  requiredTools,
} from "../../scripts/_required_tools.ts";
import { declaredTests, total } from "../../scripts/_test_count.ts";
import { assert, assertEquals, assertMatch } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("findProgram() finds executables on the given PATH only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orygate-path-" });
  try {
    await Deno.writeTextFile(`${dir}/runnable`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/plain`, "not a program", { mode: 0o644 });
    await Deno.mkdir(`${dir}/folder`);
    assertEquals(await findProgram("runnable", `/nonexistent:${dir}`), `${dir}/runnable`);
    assertEquals(await findProgram("plain", dir), undefined);
    assertEquals(await findProgram("folder", dir), undefined);
    assertEquals(await findProgram("runnable", ""), undefined);
    assertEquals(await findProgram(`${dir}/runnable`, ""), `${dir}/runnable`);
    assertEquals(await findProgram(`${dir}/missing`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requiredTools() needs gcc only while Kratos is not built", () => {
  const names = (kratosBuilt: boolean) =>
    requiredTools({ kratosBuilt, chromium: "/usr/bin/chromium" }).map((t) => t.program);
  assertEquals(names(true), [
    "/usr/bin/chromium",
    "certutil",
    "openssl",
    "node",
    "npm",
    "npx",
    "setsid",
    "sha256sum",
    "bash",
    "redis-server",
    "nginx",
    "go",
  ]);
  assertEquals(names(false).slice(-2), ["go", "gcc"]);
});

Deno.test("missingTools() says in one line each what is missing, what needs it, which package", async () => {
  const absent = { ...CERTUTIL, program: "orygate-no-such-program" };
  const present = { ...CERTUTIL, program: "sh" };
  assertEquals(await missingTools([absent, present], "/bin:/usr/bin"), [missingLine(absent)]);
  assertEquals(
    missingLine(CERTUTIL),
    "certutil is not installed (Debian: apt-get install libnss3-tools); needed by the NSS " +
      "trust-store tests (tests/tls, tests/cli/proxy_local_test.ts)",
  );
});

Deno.test("the gate without certutil names libnss3-tools, runs nothing and counts every test as failed", async () => {
  // A PATH with every tool the suite runs except certutil.
  const bin = await Deno.makeTempDir({ prefix: "orygate-path-" });
  try {
    for (const tool of requiredTools({ kratosBuilt: false })) {
      if (tool.program === "certutil" || tool.program.includes("/")) continue;
      const found = await findProgram(tool.program);
      if (found) await Deno.symlink(found, `${bin}/${tool.program}`);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/test_all.ts"],
      cwd: ROOT.pathname,
      env: { PATH: bin, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 1);
    assert(stderr.split("\n").includes(missingLine(CERTUTIL)), stderr);
    assertMatch(stderr, /program\(s\) the tests run are missing \(see above\); no test ran/);
    const declared = total(await declaredTests(new URL("tests/", ROOT)));
    assertEquals(stdout.trim(), `orygate: 0 passed, ${declared} failed`);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
