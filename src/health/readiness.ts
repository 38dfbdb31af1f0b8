/**
 * Readiness: whether Ory answered a probe recently. A probe is one `GET <Ory>/health/alive`
 * ({@linkcode checkOryAnswers}; any HTTP status is an answer, a failed connection or a
 * timeout is not). Its outcome is reused for `cacheMs` (3 s), so however often a load
 * balancer and Kubernetes ask, Ory sees at most one probe per few seconds from each orygate;
 * probes asked for while one is under way wait for it.
 *
 * @example
 * ```ts ignore
 * const readiness = createReadiness({ oryBase: "http://127.0.0.1:4433" });
 * const problem = await readiness(); // undefined when ready, else why not
 * ```
 *
 * @module
 */
import { checkOryAnswers } from "./ory_check.ts";

/** Settings and effects of {@linkcode createReadiness}. */
export interface ReadinessOptions {
  /** Ory's API base URL, no trailing slash (`Config.oryBase`). */
  readonly oryBase: string;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  /** How long a probe's outcome is reused (default 3 s). */
  readonly cacheMs?: number;
  /** Time Ory has to answer a probe (default 2 s). */
  readonly timeoutMs?: number;
}

/** Resolves to undefined when ready, else to the reason (`Ory does not answer: …`). */
export type Readiness = () => Promise<string | undefined>;

/** Creates the readiness check. */
export function createReadiness(options: ReadinessOptions): Readiness {
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 3_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  let last: { readonly at: number; readonly problem: string | undefined } | undefined;
  let probing: Promise<string | undefined> | undefined;

  const probe = async () => {
    const problem = await checkOryAnswers(options.oryBase, { fetch: options.fetch, timeoutMs });
    last = { at: now(), problem: problem && `Ory does not answer: ${problem}` };
    return last.problem;
  };

  return () => {
    if (last !== undefined && now() - last.at < cacheMs) return Promise.resolve(last.problem);
    probing ??= probe().finally(() => probing = undefined);
    return probing;
  };
}
