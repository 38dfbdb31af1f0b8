/**
 * The ready banner: where to open the app, where Ory is, and (for the tunnel) how to point
 * an Ory SDK at it.
 *
 * @example
 * ```ts ignore
 * console.error(readyBanner(config, "0.1.0"));
 * ```
 */
import type { Config } from "../config/config.ts";

/** Returns the multi-line banner printed once the proxy listens. */
export function readyBanner(config: Config, version: string): string {
  const publish = config.publishUrl.origin;
  const lines: string[] = [];
  if (config.mode === "tunnel") {
    lines.push(
      `orygate ${version} tunnel is ready on port ${config.port}`,
      `  Ory's APIs:      ${publish}  (Ory at ${config.oryUrl.origin})`,
      `  application:     ${config.appUrl.origin}`,
      "",
      "Point your Ory SDK at the tunnel:",
      `  export ORY_SDK_URL=${publish}        # Linux / macOS`,
      `  set ORY_SDK_URL=${publish}           # Windows CMD`,
      `  $env:ORY_SDK_URL = "${publish}"      # Windows PowerShell`,
    );
  } else {
    lines.push(
      `orygate ${version} proxy is ready on port ${config.port}`,
      `  open your app at: ${publish}`,
      `  Ory's APIs:       ${publish}${config.oryPrefix}  (Ory at ${config.oryUrl.origin})`,
      `  application:      ${config.appUrl.origin}`,
    );
    if (config.jwt.enabled) {
      lines.push(`  JWT public keys:  ${publish}${config.oryPrefix}/jwks.json`);
    }
    if (config.protect.length > 0) lines.push(`  protected paths:  ${config.protect.join(", ")}`);
  }
  return lines.join("\n") + "\n";
}
