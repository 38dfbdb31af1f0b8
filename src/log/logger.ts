/**
 * A cheap logger: access lines are batched and written every 50 ms (or per 16 KiB), as
 * nginx's `access_log ... buffer=`, so logging costs no system call per request; other
 * messages flush at once, after the lines before them. Batched lines are written on
 * {@linkcode Logger.flush} (shutdown), before any other message (an error about a crash) and
 * when the process exits (`Deno.exit`, the `unload` event).
 *
 * Two formats (`--log-format`): `text`, and `json`, where every line (banner, warnings,
 * errors, access) is one JSON object with `time` (RFC 3339), `level` and `msg`; access lines
 * add the request's fields (see {@linkcode AccessEntry}). Nothing here ever sees a query
 * string, a cookie or a token: callers hand over only the fields below.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger("info", { write: (text) => lines.push(text), format: "json" });
 * log.info("ready");
 * JSON.parse(lines[0]).msg; // "ready"
 * ```
 */
import type { LogFormat, LogLevel } from "../config/config.ts";

/** Where log text goes, and how it is written. */
export interface LoggerOptions {
  /** Receives whole lines (each ends with a newline). Default: standard error. */
  readonly write?: (text: string) => void;
  /** `text` (default) or `json`. */
  readonly format?: LogFormat;
  /**
   * The worker (`--workers`) whose lines these are: JSON lines carry it as `worker`, text
   * messages start with `worker <n>: `. Absent: the one event loop, nothing added.
   */
  readonly worker?: number;
}

/** One answered request, as the access line tells it. */
export interface AccessEntry {
  readonly method: string;
  /** The path only: never the query string (Ory's flow ids and logout tokens are there). */
  readonly path: string;
  readonly status: number;
  /** Milliseconds from the request head to the response head. */
  readonly durationMs: number;
  /** `app`, `ory` or `builtin` (answered by orygate itself). */
  readonly route: string;
  /** Who answered, in words: `application`, `Ory` or `orygate`. */
  readonly answeredBy: string;
  /** Response body bytes written to the client. */
  readonly bytesOut: number;
  /** The client's TCP address. */
  readonly remoteAddr?: string;
  readonly requestId: string;
  /** The Ory identity whose session was resolved for this request. */
  readonly identityId?: string;
}

/** The logger every part of orygate uses. */
export interface Logger {
  readonly level: LogLevel;
  /** Important messages (banner, shutdown); silent with `--quiet`. */
  info(message: string): void;
  /** Something the user should look at (`warning: …`); silent with `--quiet`. */
  warn(message: string): void;
  /** Detail for `--debug`. */
  debug(message: string): void;
  /** Problems; printed even with `--quiet`. */
  error(message: string): void;
  /** One line per request; silent with `--quiet`. */
  access(entry: AccessEntry): void;
  /** Writes out anything batched. */
  flush(): void;
}

const encoder = new TextEncoder();
const FLUSH_BYTES = 16 * 1024;
const FLUSH_MS = 50;

function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
}

/**
 * Writes to a pipe at most this much at once: POSIX makes a pipe write of up to PIPE_BUF
 * (4096 bytes on Linux) atomic, so the lines of several workers writing to one standard error
 * never interleave mid-line.
 */
const ATOMIC_WRITE_BYTES = 4096;

/** Standard error for a worker: whole lines, in writes of at most 4 KiB where lines allow. */
function writeStderrInLines(text: string): void {
  let start = 0;
  while (start < text.length) {
    // Lines are mostly ASCII; a piece of 4096 characters may be a few bytes over, rarely.
    let end = text.length;
    if (end - start > ATOMIC_WRITE_BYTES) {
      const cut = text.lastIndexOf("\n", start + ATOMIC_WRITE_BYTES - 1);
      end = cut >= start ? cut + 1 : text.indexOf("\n", start) + 1 || text.length;
    }
    writeStderr(text.slice(start, end));
    start = end;
  }
}

/** How each kind of line is written: the one place the two formats differ. */
interface LineFormat {
  /** A message at `level`: one line, or (text) as many as it has. */
  message(time: string, level: "info" | "warn" | "debug" | "error", message: string): string;
  access(time: string, entry: AccessEntry): string;
}

/** `format`'s lines, told which worker wrote them. */
function fromWorker(format: "text" | "json", worker: number): LineFormat {
  if (format === "text") {
    return {
      message: (time, level, message) => TEXT.message(time, level, `worker ${worker}: ${message}`),
      access: TEXT.access,
    };
  }
  return {
    message: (time, level, message) => jsonMessage(time, level, message, worker),
    access: (time, e) => jsonAccess(time, e, worker),
  };
}

/** Milliseconds with one decimal, from integers: cheaper than `toFixed(1)` per line. */
function tenths(ms: number): string {
  const t = Math.round(ms * 10);
  const rest = t % 10;
  return `${(t - rest) / 10}.${rest}`;
}

const TEXT: LineFormat = {
  message(time, level, message) {
    const text = message.endsWith("\n") ? message : message + "\n";
    if (level === "info") return text;
    if (level === "warn") return `warning: ${text}`;
    return `${time} ${level} ${text}`;
  },
  access: (time, e) =>
    `${time} ${e.method} ${e.path} ${e.status} ${tenths(e.durationMs)}ms ${e.answeredBy}` +
    ` ${e.bytesOut}B ${e.requestId}${e.identityId === undefined ? "" : ` ${e.identityId}`}\n`,
};

const JSON_LINES: LineFormat = {
  message: (time, level, message) => jsonMessage(time, level, message),
  access: (time, e) => jsonAccess(time, e),
};

/** A multi-line message (the banner) is one object per line, so every line parses alone. */
function jsonMessage(time: string, level: string, message: string, worker?: number): string {
  return message.split("\n").filter((line) => line.trim() !== "").map((msg) =>
    JSON.stringify({ time, level, worker, msg }) + "\n"
  ).join("");
}

function jsonAccess(time: string, e: AccessEntry, worker?: number): string {
  return JSON.stringify({
    time,
    level: "info",
    worker,
    msg: "request",
    method: e.method,
    path: e.path,
    status: e.status,
    duration_ms: Math.round(e.durationMs * 1000) / 1000,
    route: e.route,
    bytes_out: e.bytesOut,
    remote_addr: e.remoteAddr,
    request_id: e.requestId,
    identity_id: e.identityId,
  }) + "\n";
}

/** Creates a logger for `level`. */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const write = options.write ??
    (options.worker !== undefined ? writeStderrInLines : writeStderr);
  const format = options.worker !== undefined
    ? fromWorker(options.format ?? "text", options.worker)
    : options.format === "json"
    ? JSON_LINES
    : TEXT;
  let buffer = "";
  const writeOut = () => {
    if (buffer === "") return;
    const text = buffer;
    buffer = "";
    write(text);
  };
  // At most one timer per FLUSH_MS, whatever the load: a batch written because it reached
  // FLUSH_BYTES leaves the timer running for the lines after it. Setting and clearing one per
  // batch (every ~150 lines) cost ~0.15 µs per request in a CPU profile under wrk. While lines
  // wait, an `unload` listener writes them if the process exits first (`Deno.exit` from any
  // path); only a kill that runs no JavaScript loses them (at most FLUSH_MS of lines).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onTimer = () => {
    timer = undefined;
    globalThis.removeEventListener("unload", writeOut);
    writeOut();
  };
  const flush = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      onTimer();
    } else writeOut();
  };
  // One ISO string per millisecond, not per line: at 40k requests/s, building it for each
  // access line was the largest part of what logging cost (a CPU profile under wrk: 0.48 µs
  // of ~1 µs per line; docs/performance.md).
  let stampMs = NaN;
  let stamp = "";
  const now = () => {
    const ms = Date.now();
    if (ms !== stampMs) {
      stampMs = ms;
      stamp = new Date(ms).toISOString();
    }
    return stamp;
  };
  const immediate = (lines: string) => {
    buffer += lines;
    flush();
  };
  const say = (lvl: "info" | "warn" | "debug" | "error") => (m: string) =>
    immediate(format.message(now(), lvl, m));
  const off = () => {};
  return {
    level,
    info: level === "quiet" ? off : say("info"),
    warn: level === "quiet" ? off : say("warn"),
    debug: level === "debug" ? say("debug") : off,
    error: say("error"),
    access: level === "quiet" ? off : (entry) => {
      buffer += format.access(now(), entry);
      if (buffer.length >= FLUSH_BYTES) writeOut();
      else if (timer === undefined) {
        const t = setTimeout(onTimer, FLUSH_MS);
        Deno.unrefTimer(t as unknown as number);
        timer = t;
        globalThis.addEventListener("unload", writeOut);
      }
    },
    flush,
  };
}
