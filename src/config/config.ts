/**
 * The validated, frozen configuration every part of orygate runs from. It is produced by
 * {@linkcode parseConfig} from flags and environment and never mutated afterwards.
 *
 * @module
 */

/** Which engine configuration runs: `proxy` mounts Ory under `/.ory`, `tunnel` at `/`. */
export type Mode = "proxy" | "tunnel";

/** How much the proxy prints. */
export type LogLevel = "quiet" | "info" | "debug";

/** How log lines are written: plain text, or one JSON object per line (`--log-format`). */
export type LogFormat = "text" | "json";

/** Where the metrics listener (`--metrics-address`) listens. */
export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** TLS settings for `proxy local`. */
export interface TlsConfig {
  /** PEM certificate chain file given with `--tls-cert`, or undefined to generate one. */
  readonly certFile?: string;
  /** PEM private key file given with `--tls-key`. */
  readonly keyFile?: string;
  /** Add the local CA to trust stores (false with `--dont-install-cert`). */
  readonly installCert: boolean;
  /** Which trust stores to add it to (`--trust-stores`); undefined means all. */
  readonly trustStores?: readonly ("nss" | "firefox" | "system")[];
}

/** Session → JWT settings. */
export interface JwtConfig {
  /** False with `--no-jwt` and always in the tunnel. */
  readonly enabled: boolean;
  /** Lifetime of a minted JWT in seconds (`--jwt-ttl`, default 60). */
  readonly ttlSeconds: number;
  /**
   * JWK Set file with the private signing key(s) (`--jwks`, env `ORYGATE_JWKS`); created when
   * missing. Absent (and no `jwksJson`): a key generated at start.
   */
  readonly jwksFile?: string;
  /** The JWK Set itself, when `ORYGATE_JWKS`/`--jwks` holds JSON (a leading `{`), not a path. */
  readonly jwksJson?: string;
  /** Where the key set was named, for messages: `--jwks` or `ORYGATE_JWKS`. */
  readonly jwksSource?: "--jwks" | "ORYGATE_JWKS";
  /** How long a whoami answer is reused, in milliseconds (`--session-cache-ttl`). */
  readonly sessionCacheTtlMs: number;
  /**
   * How often a session with WebSockets or streamed answers open is checked with Ory again,
   * in milliseconds (`--session-recheck-interval`, default 30 s); 0: never.
   */
  readonly sessionRecheckIntervalMs: number;
  /**
   * Redis that carries logouts between instances (`--redis-url`, env `ORYGATE_REDIS_URL`):
   * `redis://` or `rediss://`; undefined: this instance's cache TTL is the only bound.
   */
  readonly redisUrl?: string;
}

/** CORS policy. */
export interface CorsConfig {
  /** Allowed origins: exact origins or patterns with `*` wildcards. */
  readonly origins: readonly string[];
  /** Reflect any origin (`--dev`). */
  readonly anyOrigin: boolean;
  /** Extra request headers to allow in preflights. */
  readonly additionalHeaders: readonly string[];
}

/** Everything the engine needs, validated. */
export interface Config {
  readonly mode: Mode;
  /** The application behind the proxy (the tunnel also uses it as default redirect). */
  readonly appUrl: URL;
  /** Ory's API base URL (`--sdk-url` or derived from `--project`). */
  readonly oryUrl: URL;
  /** The public URL users reach the proxy at: an origin, no path. */
  readonly publishUrl: URL;
  /** Where Ory is mounted on the publish URL: `/.ory` for proxy, `` for tunnel. */
  readonly oryPrefix: string;
  /**
   * `oryUrl`'s origin and path without trailing slashes: what Ory's API paths are appended to
   * (`<oryBase>/sessions/whoami`), and the `iss` of minted JWTs.
   */
  readonly oryBase: string;
  /** `appUrl`'s origin and path without trailing slashes: what request paths are appended to. */
  readonly appBase: string;
  /** `publishUrl`'s origin, e.g. `https://www.example.org`. */
  readonly publishOrigin: string;
  /**
   * Where Ory's APIs are on the publish URL, `publishOrigin + oryPrefix`: what Ory is told
   * its base URL is (`Ory-Base-URL-Rewrite`) and what Ory's URLs are moved to.
   */
  readonly oryPublicBase: string;
  /** Port to listen on. */
  readonly port: number;
  /** Interface to listen on. */
  readonly hostname: string;
  /** Ory project API key, sent to Ory only as `Ory-Base-URL-Rewrite-Token`. */
  readonly apiKey?: string;
  /** Value of `Ory-RateLimit-Action` sent to Ory (env `ORY_RATE_LIMIT_HEADER`). */
  readonly rateLimitAction?: string;
  /** Domain for rewritten cookies; undefined removes the Domain attribute. */
  readonly cookieDomain?: string;
  readonly cors: CorsConfig;
  /** Where Ory's welcome page redirects go. */
  readonly defaultRedirectUrl: URL;
  readonly jwt: JwtConfig;
  /** Path protection rules, as written by the user (`--protect-path-prefix`). */
  readonly protect: readonly string[];
  /** Paths whose session must be at AAL2 (`--require-aal2`), same rule syntax; proxy only. */
  readonly requireAal2: readonly string[];
  /** Paths whose identity needs a verified email address (`--require-verified-email`). */
  readonly requireVerifiedEmail: readonly string[];
  /** `<rule> <condition>` values of `--require-identity`, as written (parsed at start). */
  readonly requireIdentity: readonly string[];
  /** Send `X-Ory-Identity-Id` and the other identity headers to the app (`--identity-headers`). */
  readonly identityHeaders: boolean;
  /** Send the application's own host as `Host` instead of the publish host. */
  readonly rewriteHost: boolean;
  /** Time an upstream has to send response headers, in milliseconds. */
  readonly upstreamTimeoutMs: number;
  /** Time a client has to send a whole request head, in milliseconds (slowloris guard). */
  readonly headerTimeoutMs: number;
  /** How long a WebSocket tunnel may be silent both ways before it is closed; 0: never. */
  readonly websocketIdleTimeoutMs: number;
  /** Largest Ory text body (decoded) the proxy will read whole to rewrite, in bytes. */
  readonly maxRewriteBytes: number;
  readonly logLevel: LogLevel;
  /** `--log-format` (env `ORYGATE_LOG_FORMAT`), default `text`. */
  readonly logFormat: LogFormat;
  /**
   * Serve Prometheus metrics at `GET /metrics` on this second listener (`--metrics-address`,
   * env `ORYGATE_METRICS_ADDRESS`); undefined: no metrics are kept at all.
   */
  readonly metricsAddress?: ListenAddress;
  /**
   * Event loops accepting on the public port (`--workers`, env `ORYGATE_WORKERS`; `auto`: the
   * cores this process may use). 1 serves on the main thread; more run that many workers that
   * share the port (`cli/worker_pool.ts`), where the system allows it.
   */
  readonly workers: number;
  /** Open the browser at the publish URL once listening. */
  readonly open: boolean;
  /** TLS for `proxy local`; undefined serves plain HTTP. */
  readonly tls?: TlsConfig;
}
