/**
 * The health endpoints, as built-in routes of the engine (answered by orygate itself, never
 * forwarded, never gated by `--protect-path-prefix`, at the same paths in every mode):
 *
 * - `/.ory/proxy/health/alive`: 200 `{"status":"ok"}` while the process serves; asks nobody.
 * - `/.ory/proxy/health/ready`: 200 `{"status":"ok"}` when Ory answered a probe recently
 *   (`readiness.ts`), else 503 `{"status":"unavailable","reason":"…"}`. The engine exists
 *   only once the JWT signing keys are loaded or made, so an answer at all means they are.
 *
 * Both answer GET and HEAD (405 otherwise), with `Cache-Control: no-store`.
 *
 * @example
 * ```ts ignore
 * const routes = createHealthRoutes(createReadiness({ oryBase: config.oryBase }));
 * createProxyEngine(config, { routes });
 * ```
 *
 * @module
 */
import type { ProxyRequest } from "../http1/message.ts";
import type { Readiness } from "./readiness.ts";

/** Where liveness is answered. */
export const ALIVE_PATH = "/.ory/proxy/health/alive";
/** Where readiness is answered. */
export const READY_PATH = "/.ory/proxy/health/ready";

/** A built-in route's handler. */
export type RouteHandler = (req: ProxyRequest) => Response | Promise<Response>;

const NO_STORE = { "cache-control": "no-store" };

/** The two health routes, by path. */
export function createHealthRoutes(readiness: Readiness): Map<string, RouteHandler> {
  const alive: RouteHandler = (req) =>
    refuseMethod(req) ?? Response.json({ status: "ok" }, { headers: NO_STORE });
  const ready: RouteHandler = async (req) => {
    const refused = refuseMethod(req);
    if (refused !== undefined) return refused;
    const problem = await readiness();
    return problem === undefined
      ? Response.json({ status: "ok" }, { headers: NO_STORE })
      : Response.json({ status: "unavailable", reason: problem }, {
        status: 503,
        headers: NO_STORE,
      });
  };
  return new Map([[ALIVE_PATH, alive], [READY_PATH, ready]]);
}

function refuseMethod(req: ProxyRequest): Response | undefined {
  if (req.method === "GET" || req.method === "HEAD") return undefined;
  return Response.json({ status: "method not allowed" }, {
    status: 405,
    headers: { ...NO_STORE, allow: "GET, HEAD" },
  });
}
