/**
 * A small web app that runs behind orygate: it renders Ory's self-service flows and shows who is
 * signed in from the JWT orygate adds to each request.
 *
 * ```sh
 * PORT=3000 ORY_URL=http://localhost:4455/.ory deno run -A examples/app/main.ts
 * # or: deno run -A examples/app/main.ts --port 3000 --ory-url http://localhost:4455/.ory
 * ```
 *
 * `ORY_URL` is orygate's `<publish-url>/.ory`: the app sends browsers there and fetches flows
 * from there too, so every Ory call goes through the proxy, like the browser's.
 *
 * @module
 */

import { createApp } from "./app.ts";
import { createSessionVerifier, createWhoamiVerifier } from "./session.ts";

function option(flag: string, env: string, fallback: string): string {
  const i = Deno.args.indexOf(flag);
  if (i >= 0 && Deno.args[i + 1] !== undefined) return Deno.args[i + 1];
  const inline = Deno.args.find((a) => a.startsWith(`${flag}=`));
  return inline?.slice(flag.length + 1) ?? Deno.env.get(env) ?? fallback;
}

const port = Number(option("--port", "PORT", "3000"));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `Cannot parse --port / PORT: "${option("--port", "PORT", "")}" is not a port number`,
  );
  Deno.exit(2);
}
const oryUrl = option("--ory-url", "ORY_URL", "http://localhost:4455/.ory").replace(/\/+$/, "");

// Behind `orygate proxy` the app trusts orygate's JWT; behind `orygate tunnel` (ORY_MODE=tunnel,
// ORY_URL = the tunnel URL) no JWT arrives, so it asks Ory through the tunnel instead.
const tunnel = option("--mode", "ORY_MODE", "proxy") === "tunnel";
const app = createApp({
  oryUrl,
  verify: tunnel ? createWhoamiVerifier(oryUrl) : createSessionVerifier(`${oryUrl}/jwks.json`, {
    onError: (error) => console.warn(`example app: rejected a JWT: ${(error as Error).message}`),
  }),
});

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) =>
    console.log(`example app on http://127.0.0.1:${port} (Ory through orygate at ${oryUrl})`),
}, app);
