/**
 * orygate as a library: build a validated {@linkcode Config} with {@linkcode parseConfig},
 * build the engine with {@linkcode createOrygateHandler} (the proxy with session → JWT,
 * protection and `/.ory/jwks.json`, exactly as `orygate proxy` serves it) and wrap it with
 * {@linkcode createProxyHandler} for your own `Deno.serve` or any server that takes
 * `(Request) => Promise<Response>`. {@linkcode createProxyEngine} is the bare engine without
 * sessions, with every effect injectable. The command line lives at `@orygate/cli/cli`.
 *
 * @example Embedding the proxy in `Deno.serve`
 * ```ts
 * import { createOrygateHandler, createProxyHandler, parseConfig } from "@orygate/cli";
 *
 * const config = parseConfig({
 *   command: "proxy",
 *   appUrl: "http://localhost:3000",
 *   options: { sdkUrl: "https://demo.projects.oryapis.com", port: "4000", quiet: true },
 *   env: {},
 * });
 * const handler = createProxyHandler(await createOrygateHandler(config));
 * const server = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   (req, info) => handler(req, info),
 * );
 * // Ory is now under http://127.0.0.1:<port>/.ory, the application everywhere else.
 * await server.shutdown();
 * handler.close();
 * ```
 *
 * @module
 */

export { createOrygateHandler, type OrygateHandlerDeps } from "./create_handler.ts";
export { createProxyHandler, type ProxyHandler } from "./proxy/web_adapter.ts";
export { createProxyEngine } from "./proxy/handler.ts";
export type {
  AdmittedSession,
  AppRequestGate,
  BuiltinRoutes,
  ClientInfo,
  GateFacts,
  ObservedResponse,
  ProxyEngine,
  ProxyHandlerDeps,
  SessionFollower,
} from "./proxy/contracts.ts";
export type { ProxyRequest, ProxyResult, TunnelConn, UpgradedConnection } from "./http1/message.ts";
export { parseConfig, type ParseInput, type RawOptions } from "./config/parse.ts";
export type { Config, CorsConfig, JwtConfig, LogLevel, Mode, TlsConfig } from "./config/config.ts";
export type { UpstreamClient, UpstreamRequest, UpstreamResponse } from "./http1/upstream.ts";
export type { Logger } from "./log/logger.ts";
export type { KeySet, SigningKey } from "./jwt/keys.ts";
export type { RevocationBus, RevocationHandlers } from "./session/revocation_bus.ts";
export {
  ConfigError,
  type ErrorCode,
  OrygateError,
  UpstreamError,
  type UpstreamName,
} from "./errors.ts";
export { VERSION } from "./version.ts";
