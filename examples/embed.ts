/**
 * orygate as a library inside your own `Deno.serve`: one validated config, one handler, and
 * your own routes in front of it.
 *
 * ```sh
 * deno run -A examples/embed.ts http://localhost:3000 https://<slug>.projects.oryapis.com
 * PORT=4455 ORY_SDK_URL=http://127.0.0.1:4433 deno run -A examples/embed.ts http://localhost:3000
 * ```
 *
 * Then Ory answers under http://localhost:4000/.ory, `/healthz` is this program's own, the
 * JWT keys are at /.ory/jwks.json, and everything else goes to the application with an Ory
 * session turned into `Authorization: Bearer <JWT>`, exactly as `orygate proxy` does.
 *
 * @module
 */
import { ConfigError, createOrygateHandler, createProxyHandler, parseConfig } from "@orygate/cli";

const [appUrl = "http://localhost:3000", sdkUrl] = Deno.args;

let config;
try {
  // The same rules as the command line: flags in `options`, ORY_* and PORT from `env`.
  config = parseConfig({
    command: "proxy",
    appUrl,
    options: { sdkUrl, host: "127.0.0.1" },
    env: Deno.env.toObject(),
  });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`embed: ${err.message}`);
  Deno.exit(2);
}

// The engine, as `orygate proxy` serves it, wrapped as a web handler for Deno.serve.
const proxy = createProxyHandler(await createOrygateHandler(config));

const server = Deno.serve({
  hostname: config.hostname,
  port: config.port,
  onListen: ({ port }) => {
    console.error(`embed: listening on http://localhost:${port} (Ory at ${config.oryUrl.href})`);
  },
}, (req, info) => {
  if (new URL(req.url).pathname === "/healthz") return new Response("ok\n");
  return proxy(req, info);
});

const stop = async () => {
  await server.shutdown();
  proxy.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
