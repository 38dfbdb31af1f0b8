/**
 * The ready banner: where to open the app, where Ory is, which keys sign the JWTs, which
 * certificate authority `proxy local` serves with, and (for the tunnel) how to point an Ory SDK
 * at it.
 *
 * @example
 * ```ts ignore
 * console.error(readyBanner(config, "0.1.0", { keys: { kid: "abc", count: 1 } }));
 * ```
 */
import type { Config } from "../config/config.ts";

/** What the banner says besides the config. */
export interface BannerDetails {
  /** The keys that sign the JWTs (proxy with JWTs on). */
  readonly keys?: {
    /** `kid` of the key that signs. */
    readonly kid: string;
    /** Keys published (the first signs). */
    readonly count: number;
    /** The `--jwks` file and whether this start created it; absent: a key made for this run. */
    readonly file?: { readonly path: string; readonly created: boolean };
  };
  /** Event loops accepting on the port (`--workers`); default 1. */
  readonly workers?: number;
  /** What `proxy local` serves HTTPS with. */
  readonly tls?: {
    /** The local CA's certificate file. */
    readonly caFile?: string;
    /** Its SHA-256 fingerprint. */
    readonly caFingerprint?: string;
    /** The `--tls-cert` file, when one was given instead. */
    readonly certFile?: string;
  };
}

/** Returns the multi-line banner printed once the proxy listens. */
export function readyBanner(config: Config, version: string, details: BannerDetails = {}): string {
  const publish = config.publishOrigin;
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
    lines.push(`  workers:         ${describeWorkers(details.workers ?? 1)}`);
    if (config.metricsAddress) {
      lines.push(`  metrics:         ${metricsUrl(config.metricsAddress)}`);
    }
  } else {
    lines.push(
      `orygate ${version} proxy is ready on port ${config.port}`,
      `  open your app at: ${publish}`,
      `  Ory's APIs:       ${config.oryPublicBase}  (Ory at ${config.oryUrl.origin})`,
      `  application:      ${config.appUrl.origin}`,
    );
    if (config.jwt.enabled) {
      lines.push(`  JWT public keys:  ${config.oryPublicBase}/jwks.json`);
      const keys = details.keys;
      if (keys) lines.push(`  JWT signing key:  ${describeKeys(keys)}`);
    }
    if (config.protect.length > 0) lines.push(`  protected paths:  ${config.protect.join(", ")}`);
    if (config.requireAal2.length > 0) {
      lines.push(`  AAL2 paths:       ${config.requireAal2.join(", ")}`);
    }
    if (config.requireVerifiedEmail.length > 0) {
      lines.push(`  verified email:   ${config.requireVerifiedEmail.join(", ")}`);
    }
    if (config.requireIdentity.length > 0) {
      lines.push(`  identity rules:   ${config.requireIdentity.map((r) => `"${r}"`).join(", ")}`);
    }
    if (config.identityHeaders) {
      lines.push(
        "  identity headers: X-Ory-Identity-Id, X-Ory-Session-Id, X-Ory-Identity-Email, X-Ory-Aal",
      );
    }
    const tls = details.tls;
    if (tls?.certFile) lines.push(`  certificate:      ${tls.certFile} (--tls-cert)`);
    if (tls?.caFile) lines.push(`  local CA:         ${tls.caFile}`);
    if (tls?.caFingerprint) lines.push(`  CA fingerprint:   SHA-256 ${tls.caFingerprint}`);
    if (config.tls) {
      const plain = publish.replace(/^https:/, "http:");
      lines.push(`  plain http:       ${plain} is redirected to ${publish}`);
    }
    lines.push(`  workers:          ${describeWorkers(details.workers ?? 1)}`);
    if (config.metricsAddress) {
      lines.push(`  metrics:          ${metricsUrl(config.metricsAddress)}`);
    }
  }
  return lines.join("\n") + "\n";
}

function describeWorkers(workers: number): string {
  return workers === 1 ? "1" : `${workers} (event loops sharing the port)`;
}

function describeKeys(keys: NonNullable<BannerDetails["keys"]>): string {
  const more = keys.count > 1 ? ` (${keys.count} keys published)` : "";
  if (!keys.file) return `kid ${keys.kid}, new for this run (--jwks <file> keeps it)`;
  const how = keys.file.created ? "created in" : "loaded from";
  return `kid ${keys.kid}, ${how} ${keys.file.path}${more}`;
}

function metricsUrl(address: NonNullable<Config["metricsAddress"]>): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `http://${host}:${address.port}/metrics`;
}
