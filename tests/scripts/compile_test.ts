import {
  binaryName,
  compileArgs,
  formatChecksums,
  isTarget,
  parseCompileArgs,
  sha256Hex,
  shellLine,
  TARGETS,
} from "../../scripts/compile.ts";
import {
  PERMISSION_FLAGS,
  readProjectFacts,
  unstableFlags,
  V8_FLAGS,
} from "../../scripts/_deno_flags.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_support/assert.ts";

const ROOT = new URL("../../", import.meta.url);
const SCRIPT = new URL("scripts/compile.ts", ROOT).pathname;

Deno.test("TARGETS are the five release targets", () => {
  assertEquals([...TARGETS], [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  assert(isTarget("aarch64-apple-darwin"));
  assert(!isTarget("x86_64-unknown-linux-musl"));
});

Deno.test("binaryName() adds .exe only for Windows", () => {
  assertEquals(TARGETS.map(binaryName), [
    "orygate-x86_64-unknown-linux-gnu",
    "orygate-aarch64-unknown-linux-gnu",
    "orygate-x86_64-apple-darwin",
    "orygate-aarch64-apple-darwin",
    "orygate-x86_64-pc-windows-msvc.exe",
  ]);
});

Deno.test("compileArgs() builds one exact deno compile command", async (t) => {
  await t.step("with the CLI's permissions, unstable and V8 flags, target and output", () => {
    assertEquals(
      compileArgs("aarch64-apple-darwin", { outDir: "dist", unstable: ["no-legacy-abort"] }),
      [
        "compile",
        "--allow-env",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-run",
        "--allow-sys",
        "--no-prompt",
        "--unstable-no-legacy-abort",
        "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=50",
        "--exclude-unused-npm",
        "--target",
        "aarch64-apple-darwin",
        "--output",
        "dist/orygate-aarch64-apple-darwin",
        "src/main.ts",
      ],
    );
  });
  await t.step("includes nothing extra and never -A", () => {
    const args = compileArgs("x86_64-unknown-linux-gnu", { outDir: "dist", unstable: [] });
    assert(!args.includes("--include") && !args.includes("-A") && !args.includes("--allow-all"));
    assert(!args.some((a) => a.startsWith("--unstable")));
  });
  await t.step("writes Windows binaries with .exe into the out dir", () => {
    const args = compileArgs("x86_64-pc-windows-msvc", { outDir: "/tmp/out/", unstable: [] });
    assertEquals(args[args.indexOf("--output") + 1], "/tmp/out/orygate-x86_64-pc-windows-msvc.exe");
  });
  await t.step("takes the unstable features from deno.json", async () => {
    const facts = await readProjectFacts(ROOT);
    const meta = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
    assertEquals(facts.version, meta.version);
    assertEquals(
      unstableFlags(facts.unstable),
      (meta.unstable ?? []).map((f: string) => `--unstable-${f}`),
    );
  });
});

Deno.test("parseCompileArgs() reads targets, --dry-run and --out-dir", async (t) => {
  await t.step("defaults to every target into dist", () => {
    assertEquals(parseCompileArgs([]), {
      targets: [...TARGETS],
      dryRun: false,
      outDir: "dist",
      help: false,
    });
  });
  await t.step("builds a subset, in order, once each", () => {
    const parsed = parseCompileArgs([
      "--target",
      "x86_64-pc-windows-msvc",
      "--target=aarch64-unknown-linux-gnu",
      "--target",
      "x86_64-pc-windows-msvc",
      "--dry-run",
      "--out-dir",
      "out",
    ]);
    assertEquals(parsed, {
      targets: ["x86_64-pc-windows-msvc", "aarch64-unknown-linux-gnu"],
      dryRun: true,
      outDir: "out",
      help: false,
    });
  });
  await t.step("refuses unknown targets and options with one clear line", async () => {
    await assertThrows(
      () => parseCompileArgs(["--target", "riscv64gc-unknown-linux-gnu"]),
      Error,
      /^Cannot compile for "riscv64gc-unknown-linux-gnu": not a release target \(use x86_64-unknown-linux-gnu, /,
    );
    await assertThrows(
      () => parseCompileArgs(["--target"]),
      Error,
      /^Cannot use --target: it needs a value$/,
    );
    await assertThrows(
      () => parseCompileArgs(["--fast"]),
      Error,
      /^Cannot use "--fast": unknown option/,
    );
  });
});

Deno.test("formatChecksums() writes what sha256sum -c reads", async (t) => {
  const a = "a".repeat(64);
  const b = "0123456789abcdef".repeat(4);
  await t.step("two spaces, one line each, sorted by name", () => {
    assertEquals(
      formatChecksums([{ name: "orygate-x86_64-pc-windows-msvc.exe", sha256: a }, {
        name: "orygate-aarch64-apple-darwin",
        sha256: b,
      }]),
      `${b}  orygate-aarch64-apple-darwin\n${a}  orygate-x86_64-pc-windows-msvc.exe\n`,
    );
    assertEquals(formatChecksums([]), "");
  });
  await t.step("refuses digests that are not hex and names with paths", async () => {
    await assertThrows(
      () => formatChecksums([{ name: "x", sha256: "A".repeat(64) }]),
      Error,
      /SHA-256/,
    );
    await assertThrows(
      () => formatChecksums([{ name: "dist/x", sha256: a }]),
      Error,
      /plain file name/,
    );
  });
  await t.step("sha256Hex() matches the FIPS 180-2 test vector", async () => {
    assertEquals(
      await sha256Hex(new TextEncoder().encode("abc")),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
  await t.step("and the real sha256sum verifies the file", async () => {
    const dir = await Deno.makeTempDir({ prefix: "orygate-sums-" });
    try {
      const entries = [];
      for (
        const name of ["orygate-x86_64-unknown-linux-gnu", "orygate-x86_64-pc-windows-msvc.exe"]
      ) {
        const bytes = crypto.getRandomValues(new Uint8Array(4096));
        await Deno.writeFile(`${dir}/${name}`, bytes);
        entries.push({ name, sha256: await sha256Hex(bytes) });
      }
      await Deno.writeTextFile(`${dir}/SHA256SUMS`, formatChecksums(entries));
      const out = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: dir })
        .output()
        .catch(() => undefined);
      if (out === undefined) return; // no coreutils here (macOS, Windows): the format test above stands.
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      assertMatch(new TextDecoder().decode(out.stdout), /orygate-x86_64-pc-windows-msvc\.exe: OK/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("shellLine() quotes only what a shell would split", () => {
  assertEquals(
    shellLine(["deno", "compile", "--output", "dist/a b", "it's"]),
    `deno compile --output 'dist/a b' 'it'\\''s'`,
  );
});

Deno.test("compile.ts --dry-run prints the exact commands and builds nothing", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      SCRIPT,
      "--dry-run",
      "--target",
      "x86_64-pc-windows-msvc",
      "--out-dir",
      "nowhere",
    ],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const [first] = text.split("\n");
  assertEquals(
    first,
    `$ ${Deno.execPath()} compile ${PERMISSION_FLAGS.join(" ")} --unstable-no-legacy-abort ` +
      "--unstable-net " +
      `${
        V8_FLAGS.join(" ")
      } --exclude-unused-npm --target x86_64-pc-windows-msvc --output nowhere/orygate-x86_64-pc-windows-msvc.exe src/main.ts`,
  );
  assertMatch(text, /sha256 of each binary into nowhere\/SHA256SUMS/);
  await assertThrows(() => Deno.stat(new URL("nowhere", ROOT)), Deno.errors.NotFound);
});

Deno.test("compile.ts refuses an unknown target with exit code 2", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--target", "wasm32"],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 2);
  assertMatch(
    new TextDecoder().decode(out.stderr),
    /^compile: Cannot compile for "wasm32": not a release target/,
  );
});

// `deno compile` downloads the target's runtime (denort), which is unreachable offline. Pointing
// DENORT_BIN at this deno makes compile embed the program into a copy of it instead: the result
// does not run the program, but carries the same metadata a real build embeds, so the flags can
// be checked for real.
Deno.test("compileArgs() embed the permissions, unstable features and only the npm packages used", async () => {
  const dir = await Deno.makeTempDir({ prefix: "orygate-compile-" });
  try {
    const { unstable } = await readProjectFacts(ROOT);
    const args = compileArgs("x86_64-unknown-linux-gnu", { outDir: dir, unstable });
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT.pathname,
      env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, log);
    const binary = await Deno.readFile(`${dir}/orygate-x86_64-unknown-linux-gnu`);
    // The metadata and file table sit at the end of the binary.
    const tail = new TextDecoder("latin1").decode(
      binary.subarray(Math.max(0, binary.length - 8_000_000)),
    );
    const metadata = /\{"argv":\[\].*?"app_version":"[^"]*"\}/.exec(tail)?.[0];
    assert(metadata !== undefined, "compile metadata not found");
    const meta = JSON.parse(metadata);
    // net: --workers listens with reusePort, which Deno offers only with --unstable-net.
    assertEquals(meta.unstable_config.features, ["no-legacy-abort", "net"]);
    const granted = Object.entries(meta.permissions)
      .filter(([key, value]) =>
        key.startsWith("allow_") && Array.isArray(value) && value.length === 0
      )
      .map(([key]) => key).sort();
    assertEquals(granted, [
      "allow_env",
      "allow_net",
      "allow_read",
      "allow_run",
      "allow_sys",
      "allow_write",
    ]);
    assertEquals([meta.permissions.allow_ffi, meta.permissions.prompt], [null, false]);
    // --workers runs the entry point itself in each worker thread (main.ts tells a worker by
    // its name), so no worker module needs --include.
    assertEquals(meta.entrypoint_key, "src/main.ts");
    assertMatch(log, /commander\/14/);
    assertMatch(log, /jose\/6/);
    assert(!log.includes("playwright-core"), `the browser driver was embedded:\n${log}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
