/**
 * The whole engine: the proxy plus, when the config asks for them, session → JWT, path
 * protection and the JWKS routes. This is what `orygate proxy` serves (its HTTP/1.1 server
 * takes the engine as it is), and what an embedding program wraps with the web adapter
 * (`createProxyHandler`) for `Deno.serve`.
 *
 * @example
 * ```ts ignore
 * import { createOrygateHandler } from "./create_handler.ts";
 * import { createProxyHandler } from "./proxy/web_adapter.ts";
 * const handler = createProxyHandler(await createOrygateHandler(config));
 * Deno.serve({ port: config.port }, handler);
 * ```
 */
import type { Config } from "./config/config.ts";
import type { KeySet } from "./jwt/keys.ts";
import type { ProxyEngine } from "./proxy/contracts.ts";
import { createProxyEngine } from "./proxy/handler.ts";
import type { UpstreamClient } from "./http1/upstream.ts";
import { createLogger, type Logger } from "./log/logger.ts";
import { createSessionFeatures } from "./session/features.ts";
import type { RevocationBus, RevocationHandlers } from "./session/revocation_bus.ts";
import { createReadiness } from "./health/readiness.ts";
import { createHealthRoutes } from "./health/routes.ts";
import type { Metrics } from "./metrics/metrics.ts";

/** Effects for {@linkcode createOrygateHandler}; all optional. */
export interface OrygateHandlerDeps {
  readonly logger?: Logger;
  /** Used for Ory's whoami. */
  readonly fetch?: typeof fetch;
  /** Sends proxied requests upstream. */
  readonly client?: UpstreamClient;
  /** Told which keys sign the JWTs, once they are loaded or made (for the CLI's banner). */
  readonly onSigningKeys?: (keys: KeySet) => void;
  /** What is counted (`metrics/prometheus.ts` with `--metrics-address`); default: nothing. */
  readonly metrics?: Metrics;
  /** The signing keys, loaded already; default: loaded from the config (`--jwks`). */
  readonly keys?: KeySet;
  /**
   * Where logouts go beyond this engine's session cache, and come from; default: Redis with
   * `--redis-url`. (`session/features.ts`)
   */
  readonly revocationBus?: (handlers: RevocationHandlers) => RevocationBus;
}

/**
 * Builds the engine; loads or creates the signing keys (`--jwks`) when JWTs are on. Its
 * built-in routes are the health checks (`/.ory/proxy/health/alive`, `/ready`, in every mode)
 * and, with JWTs, the JWKS.
 */
export async function createOrygateHandler(
  config: Config,
  deps: OrygateHandlerDeps = {},
): Promise<ProxyEngine> {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const session = await createSessionFeatures(config, {
    logger,
    fetch: deps.fetch,
    onSigningKeys: deps.onSigningKeys,
    metrics: deps.metrics,
    keys: deps.keys,
    revocationBus: deps.revocationBus,
  });
  const health = createHealthRoutes(
    createReadiness({ oryBase: config.oryBase, fetch: deps.fetch }),
  );
  const engine = createProxyEngine(config, {
    logger,
    metrics: deps.metrics,
    client: deps.client,
    gate: session?.gate,
    routes: new Map([...health, ...session?.routes ?? []]),
    observeOry: session?.observeOry,
    followSession: session?.followSession,
  });
  const closeEngine = engine.close;
  engine.close = () => {
    closeEngine();
    session?.close();
  };
  return engine;
}
