/**
 * A last line of defence: one request's unexpected error must not end every other connection.
 * An error nothing caught is logged loudly as a bug and the event loop keeps serving. Installed
 * on the main thread and in every worker (where it also keeps the error from reaching the
 * parent, which would take it for a crash).
 *
 * @example
 * ```ts ignore
 * const unguard = guardUncaught(logger);
 * // … serve …
 * unguard();
 * ```
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** Installs the guard; returns its removal. */
export function guardUncaught(logger: Logger): () => void {
  const onUncaught = (event: ErrorEvent | PromiseRejectionEvent) => {
    event.preventDefault();
    const err = "reason" in event ? event.reason : event.error;
    logger.error(`internal error (a bug, please report): ${err?.stack ?? err}`);
  };
  globalThis.addEventListener("error", onUncaught);
  globalThis.addEventListener("unhandledrejection", onUncaught);
  return () => {
    globalThis.removeEventListener("error", onUncaught);
    globalThis.removeEventListener("unhandledrejection", onUncaught);
  };
}
