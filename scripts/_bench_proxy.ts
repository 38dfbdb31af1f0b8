/**
 * The bench's stand-in for `orygate proxy`: the same engine as `src/cli/engine.ts` (session
 * features, handler, listener), but with the upstream client chosen by
 * `ORYGATE_UPSTREAM_CLIENT=node|h1` so the two clients can be compared. Only the bench uses it.
 *
 * `ORYGATE_UPSTREAM_CLIENT=h1-bytes` is an experiment, not a configuration: the h1 client, but a
 * response read whole with its head is handed on as bytes (`wholeBody()`) instead of a stream,
 * which `UpstreamResponse` does not allow today. It measures what `Deno.serve` saves when it
 * gets a byte body; it only holds for application routes (Ory bodies expect a stream).
 *
 * Usage: `deno run -A scripts/_bench_proxy.ts <app-url> <sdk-url> <port>`; prints "ready".
 *
 * @module
 */
import { parseConfig } from "../src/config/parse.ts";
import { createH1Client, wholeBody } from "../src/proxy/h1_client.ts";
import { createProxyHandler } from "../src/proxy/handler.ts";
import { createNodeHttpClient } from "../src/proxy/node_http_client.ts";
import { listen } from "../src/server/listen.ts";
import { createLogger } from "../src/server/logger.ts";
import { createSessionFeatures } from "../src/session/features.ts";
import type { UpstreamClient } from "../src/proxy/upstream.ts";

const [appUrl, sdkUrl, port] = Deno.args;
const which = Deno.env.get("ORYGATE_UPSTREAM_CLIENT") ?? "node";
if (appUrl === undefined || sdkUrl === undefined || port === undefined) {
  console.error("usage: _bench_proxy.ts <app-url> <sdk-url> <port>");
  Deno.exit(2);
}
if (which !== "node" && which !== "h1" && which !== "h1-bytes") {
  console.error(`ORYGATE_UPSTREAM_CLIENT must be node, h1 or h1-bytes, not "${which}"`);
  Deno.exit(2);
}

const config = parseConfig({
  command: "proxy",
  appUrl,
  options: { sdkUrl, port, host: "127.0.0.1", quiet: true },
  env: {},
});
const logger = createLogger(config.logLevel);
const session = await createSessionFeatures(config, { logger });
const client = which === "node" ? createNodeHttpClient() : createH1Client();
const upstreamClient: UpstreamClient = which !== "h1-bytes" ? client : async (request) => {
  const res = await client(request);
  const bytes = wholeBody(res.body);
  // Deliberately outside the type: modifyResponse hands `body` to `new Response()`.
  return bytes === undefined ? res : { ...res, body: bytes as unknown as ReadableStream };
};
const handler = createProxyHandler(config, {
  client: upstreamClient,
  logger,
  gate: session?.gate,
  routes: session?.routes,
  observeOry: session?.observeOry,
});
const server = listen(handler, { port: config.port, hostname: config.hostname, logger });
console.log(`ready ${which} ${server.port}`);
const stop = () => {
  void server.shutdown(0).then(() => {
    handler.close();
    client.close();
    Deno.exit(0);
  });
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
