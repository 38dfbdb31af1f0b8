#!/usr/bin/env node
// orygate's npm launcher: runs the bundled program (../orygate.js) on the Deno runtime that this
// platform's `@deno/<platform>` package holds. Those packages are optional dependencies, one per
// platform, of which npm installs the one that fits (as esbuild ships its binaries): no install
// script runs. The `deno run` flags come from this package's package.json ("orygate.denoArgs"),
// written by scripts/build_npm.ts.
//
// The program ends when whoever started it goes away, however that happens:
// - the launcher forwards SIGINT/SIGTERM/SIGHUP and passes the exit code back;
// - under npx it watches npx (`npx orygate … & kill $!` ends npx and its shell, not the
//   launcher): once npx is gone it stops the program as SIGTERM does;
// - the program's stdin is a pipe from the launcher and the program stops when that closes
//   (ORYGATE_STOP_WHEN_STDIN_CLOSES=1), so even a launcher killed with SIGKILL takes it along.
// @ts-check
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const PACKAGE_DIR = path.join(__dirname, "..");

/** How often the launcher looks whether its parent is still there. */
const PARENT_POLL_MS = 500;

/** The platform package with this machine's Deno, e.g. `@deno/linux-x64-glibc`, `@deno/darwin-arm64`. */
function platformPackage() {
  const arch = process.arch;
  if (arch !== "x64" && arch !== "arm64") {
    throw new Error(`Deno has no runtime for the ${arch} architecture (only x64 and arm64)`);
  }
  if (process.platform !== "linux") return `@deno/${process.platform}-${arch}`;
  // @ts-ignore: `header.glibcVersionRuntime` is absent on musl.
  const glibc = process.report?.getReport()?.header?.glibcVersionRuntime;
  if (!glibc) throw new Error("Deno has no runtime for musl-based Linux (glibc is needed)");
  return `@deno/linux-${arch}-glibc`;
}

/** The Deno executable in this platform's package. */
function findDeno() {
  const name = platformPackage();
  const exe = process.platform === "win32" ? "deno.exe" : "deno";
  let dir;
  try {
    dir = path.dirname(require.resolve(`${name}/package.json`, { paths: [PACKAGE_DIR] }));
  } catch {
    throw new Error(
      `${name} is not installed: it holds the Deno runtime for ${process.platform}-${process.arch} ` +
        "(reinstall orygate, without --omit=optional or --no-optional)",
    );
  }
  const binary = path.join(dir, exe);
  if (!fs.existsSync(binary)) throw new Error(`${name} has no ${exe} (reinstall orygate)`);
  return binary;
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

/** Whether a process exists (a zombie counts: it is gone, but its pid stays until reaped). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === "EPERM";
  }
}

/** The parent of process `pid`, where /proc says it (Linux); otherwise undefined. */
function parentOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // "<pid> (<command>) <state> <ppid> …"; the command may hold spaces and parentheses.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * Under npx, calls `onGone` once npx is gone. npx runs the bin through `sh -c`; `kill <npx>`
 * ends npm and its shell but not the launcher, and a shell outlives an npm killed with SIGKILL,
 * so both are watched: the parent (its pid handed over or gone) and, where /proc shows it
 * (Linux), the parent's parent. Started otherwise, the launcher gets its signals itself, and a
 * shell that started it in the background (`orygate proxy … &`) may end before it.
 */
function watchNpx(onGone) {
  if (process.env.npm_lifecycle_event !== "npx") return;
  const parent = process.ppid;
  const npm = parentOf(parent);
  const timer = setInterval(() => {
    const gone = process.ppid !== parent || !alive(parent) ||
      (npm !== undefined && parentOf(parent) !== npm);
    if (!gone) return;
    clearInterval(timer);
    onGone();
  }, PARENT_POLL_MS);
  timer.unref();
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
    // stdin: the lifeline; nothing is written to it, it only closes when the launcher ends.
    stdio: ["pipe", "inherit", "inherit"],
    env: {
      ...process.env,
      DENO_NO_UPDATE_CHECK: "1",
      DENO_NO_PACKAGE_JSON: "1",
      ORYGATE_STOP_WHEN_STDIN_CLOSES: "1",
    },
    // Its own session and process group (POSIX): a terminal's Ctrl-C then reaches orygate only
    // through this forwarding, once, not twice (a second would cut its graceful stop short).
    detached: !windows,
  });
  // The program may end first; its end of the pipe closing is no error here.
  child.stdin?.on("error", () => {});

  // Many senders deliver one stop twice (the terminal signals the whole group, npm/npx forward
  // the same signal again): a repeat of the same signal within a second is dropped.
  const lastSent = new Map();
  let stopping = false;
  const forward = (/** @type {NodeJS.Signals} */ signal) => {
    const now = Date.now();
    if (now - (lastSent.get(signal) ?? -Infinity) < 1000) return;
    lastSent.set(signal, now);
    stopping = true;
    // On Windows the console already sent Ctrl-C to the child; kill() would end it at once.
    if (windows && signal === "SIGINT") return;
    try {
      child.kill(signal);
    } catch {
      // the child is gone already
    }
  };
  for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM", "SIGHUP"])) {
    process.on(signal, () => forward(signal));
  }
  // npx is gone: stop the program gracefully, unless a stop is under way (a second would cut it).
  watchNpx(() => {
    if (!stopping) forward("SIGTERM");
  });

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

if (require.main === module) main();

module.exports = { platformPackage };
