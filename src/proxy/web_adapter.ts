/**
 * The web adapter: an engine as a web handler, `(Request, info?) => Promise<Response>`, for
 * `Deno.serve` and programs that embed orygate. A web `Request` already is a `ProxyRequest`;
 * the engine's `ProxyResult` becomes a `Response`. orygate's own HTTP/1.1 server needs none of
 * this: it serves the engine's plain objects directly.
 *
 * @example
 * ```ts ignore
 * import { createOrygateHandler } from "../create_handler.ts";
 * import { createProxyHandler } from "./web_adapter.ts";
 * const handler = createProxyHandler(await createOrygateHandler(config));
 * Deno.serve({ port: config.port }, handler);
 * ```
 *
 * @module
 */
import { toResponse } from "../http1/message.ts";
import type { ClientInfo, ProxyEngine } from "./contracts.ts";

/** An engine as a web handler (`Request` → `Response`). */
export interface ProxyHandler {
  (req: Request, info?: ClientInfo): Promise<Response>;
  /** Closes idle upstream connections (the engine's). */
  close(): void;
}

/** Wraps `engine` as a web handler. */
export function createProxyHandler(engine: ProxyEngine): ProxyHandler {
  const handler = async (req: Request, info?: ClientInfo) => toResponse(await engine(req, info));
  return Object.assign(handler, { close: () => engine.close() });
}
