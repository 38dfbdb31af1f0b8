/**
 * Whether Ory answers at all: one `GET <Ory URL>/health/alive` with a short timeout. Any HTTP
 * answer counts (a 404 still proves Ory is reachable); only a failure to get one is reported,
 * with its cause. The CLI asks once at start, so a wrong `--sdk-url` or a stopped Kratos is
 * named then instead of by the first request; the readiness check asks every few seconds.
 *
 * @example
 * ```ts
 * import { checkOryAnswers } from "./ory_check.ts";
 * const problem = await checkOryAnswers("http://127.0.0.1:9");
 * problem; // "Requests to port 9 are blocked"
 * ```
 */
import { describeFetchError } from "../runtime/fetch_error.ts";

/** Options of {@linkcode checkOryAnswers}. */
export interface OryCheckOptions {
  readonly fetch?: typeof fetch;
  /** Default 5 s. */
  readonly timeoutMs?: number;
  /** Ends the check early (the proxy is stopping). */
  readonly signal?: AbortSignal;
}

/**
 * Resolves to undefined when Ory answered, else to why not ("connection refused", …).
 * `oryBase` is Ory's API base URL without a trailing slash (`Config.oryBase`).
 */
export async function checkOryAnswers(
  oryBase: string,
  options: OryCheckOptions = {},
): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const url = `${oryBase}/health/alive`;
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  try {
    const res = await (options.fetch ?? fetch)(url, {
      redirect: "manual",
      signal: AbortSignal.any(signals),
    });
    await res.body?.cancel();
    return undefined;
  } catch (err) {
    if (options.signal?.aborted) return undefined;
    return describeFetchError(err, { timeoutMs });
  }
}
