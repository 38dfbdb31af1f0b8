#!/usr/bin/env node
// orygate's npm launcher: runs the bundled program (../orygate.js) on the Deno runtime that the
// `deno` npm package installs for this platform. Its flags come from this package's
// package.json ("orygate.denoArgs"), written by scripts/build_npm.ts.
// @ts-check
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const PACKAGE_DIR = path.join(__dirname, "..");

/** The Deno executable: the one the `deno` package's install step placed, or its platform package's. */
function findDeno() {
  const exe = process.platform === "win32" ? "deno.exe" : "deno";
  let denoDir;
  try {
    denoDir = path.dirname(require.resolve("deno/package.json", { paths: [PACKAGE_DIR] }));
  } catch {
    throw new Error("the `deno` package is not installed next to orygate (reinstall orygate)");
  }
  const installed = path.join(denoDir, exe);
  if (fs.existsSync(installed)) return installed;
  // Without install scripts (npm --ignore-scripts) the binary stays in the platform package.
  const platformPackage = `@deno/${platformName()}`;
  try {
    const dir = path.dirname(
      require.resolve(`${platformPackage}/package.json`, { paths: [denoDir] }),
    );
    const binary = path.join(dir, exe);
    if (fs.existsSync(binary)) return binary;
  } catch {
    // reported below
  }
  throw new Error(
    `the Deno runtime for ${process.platform}-${process.arch} is missing: ${platformPackage} is not ` +
      "installed (reinstall orygate without --omit=optional or --no-optional)",
  );
}

/** The `deno` package's name for this platform, e.g. `linux-x64-glibc`, `darwin-arm64`. */
function platformName() {
  const arch = process.arch;
  if (arch !== "x64" && arch !== "arm64") {
    throw new Error(`Deno has no runtime for the ${arch} architecture (only x64 and arm64)`);
  }
  if (process.platform !== "linux") return `${process.platform}-${arch}`;
  // @ts-ignore: `header.glibcVersionRuntime` is absent on musl.
  const glibc = process.report?.getReport()?.header?.glibcVersionRuntime;
  if (!glibc) throw new Error("Deno has no runtime for musl-based Linux (glibc is needed)");
  return `linux-${arch}-glibc`;
}

/** The `deno run` arguments from package.json. */
function denoArgs() {
  const meta = JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8"));
  const args = meta.orygate && meta.orygate.denoArgs;
  if (!Array.isArray(args) || args[0] !== "run") {
    throw new Error("package.json has no orygate.denoArgs (a broken build: reinstall orygate)");
  }
  return args;
}

function main() {
  let deno;
  let args;
  try {
    deno = findDeno();
    args = denoArgs();
  } catch (err) {
    process.stderr.write(`orygate: Cannot start: ${/** @type {Error} */ (err).message}\n`);
    process.exit(1);
  }
  const windows = process.platform === "win32";
  const child = spawn(deno, [
    ...args,
    path.join(PACKAGE_DIR, "orygate.js"),
    ...process.argv.slice(2),
  ], {
    stdio: "inherit",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PACKAGE_JSON: "1" },
    // Its own session and process group (POSIX): a terminal's Ctrl-C then reaches orygate only
    // through this forwarding, once, not twice (a second would cut its graceful stop short).
    detached: !windows,
  });

  // Many senders deliver one stop twice (the terminal signals the whole group, npm/npx forward
  // the same signal again): a repeat of the same signal within a second is dropped.
  const lastSent = new Map();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      const now = Date.now();
      if (now - (lastSent.get(signal) ?? -Infinity) < 1000) return;
      lastSent.set(signal, now);
      // On Windows the console already sent Ctrl-C to the child; kill() would end it at once.
      if (windows && signal === "SIGINT") return;
      try {
        child.kill(signal);
      } catch {
        // the child is gone already
      }
    });
  }

  child.on("error", (err) => {
    process.stderr.write(`orygate: Cannot start the Deno runtime at ${deno}: ${err.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    }
    process.exit(code ?? 1);
  });
}

main();
