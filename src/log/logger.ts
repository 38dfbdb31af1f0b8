/**
 * A cheap logger: access lines are batched and written at most every 50 ms (or per 16 KiB),
 * so logging costs no system call per request; other messages flush at once, in order.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger("info", { write: (text) => lines.push(text) });
 * log.info("ready");
 * ```
 */
import type { LogLevel } from "../config/config.ts";

/** Where log text goes. */
export interface LoggerOptions {
  /** Receives whole lines (each ends with a newline). Default: standard error. */
  readonly write?: (text: string) => void;
}

/** The logger every part of orygate uses. */
export interface Logger {
  readonly level: LogLevel;
  /** Important messages (banner, shutdown); silent with `--quiet`. */
  info(message: string): void;
  /** Detail for `--debug`. */
  debug(message: string): void;
  /** Problems; printed even with `--quiet`. */
  error(message: string): void;
  /** One line per request; silent with `--quiet`. */
  access(line: string): void;
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

/** Creates a logger for `level`. */
export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const write = options.write ?? writeStderr;
  let buffer = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (buffer === "") return;
    const text = buffer;
    buffer = "";
    write(text);
  };
  const now = () => new Date().toISOString();
  const immediate = (message: string) => {
    buffer += message.endsWith("\n") ? message : message + "\n";
    flush();
  };
  return {
    level,
    info: level === "quiet" ? () => {} : immediate,
    debug: level === "debug" ? (m) => immediate(`${now()} debug ${m}`) : () => {},
    error: (m) => immediate(`${now()} error ${m}`),
    access: level === "quiet" ? () => {} : (line) => {
      buffer += `${now()} ${line}\n`;
      if (buffer.length >= FLUSH_BYTES) flush();
      else if (timer === undefined) {
        const t = setTimeout(flush, FLUSH_MS);
        Deno.unrefTimer(t as unknown as number);
        timer = t;
      }
    },
    flush,
  };
}
