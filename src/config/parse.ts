/**
 * Turns command-line options and environment variables into a validated, frozen
 * {@linkcode Config}. Pure: no I/O, so every rule is unit-tested.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./parse.ts";
 * const config = parseConfig({
 *   command: "proxy",
 *   appUrl: "http://localhost:3000",
 *   options: { sdkUrl: "https://demo.projects.oryapis.com" },
 *   env: {},
 * });
 * console.log(config.publishUrl.href); // "http://localhost:4000/"
 * ```
 */
import { ConfigError } from "../errors.ts";
import type {
  Config,
  JwtConfig,
  ListenAddress,
  LogFormat,
  LogLevel,
  Mode,
  TlsConfig,
} from "./config.ts";
import { parseDuration } from "./duration.ts";
import { baseOf, parseHttpUrl, parseOrigin } from "./url.ts";
import { compileOriginMatcher } from "../rewrite/origin_match.ts";

/** The options a command line can carry, as the CLI parser hands them over. */
export interface RawOptions {
  port?: string;
  host?: string;
  sdkUrl?: string;
  project?: string;
  endpoint?: string;
  apiEndpoint?: string;
  consoleApiEndpoint?: string;
  apiKey?: string;
  cookieDomain?: string;
  allowedCorsOrigins?: string[];
  additionalCorsHeaders?: string[];
  defaultRedirectUrl?: string;
  /** False with `--no-jwt`. */
  jwt?: boolean;
  jwtTtl?: string;
  jwks?: string;
  redisUrl?: string;
  sessionCacheTtl?: string;
  sessionRecheckInterval?: string;
  protectPathPrefix?: string[];
  requireAal2?: string[];
  requireVerifiedEmail?: string[];
  requireIdentity?: string[];
  identityHeaders?: boolean;
  open?: boolean;
  dev?: boolean;
  debug?: boolean;
  quiet?: boolean;
  rewriteHost?: boolean;
  upstreamTimeout?: string;
  headerTimeout?: string;
  websocketIdleTimeout?: string;
  maxRewriteSize?: string;
  logFormat?: string;
  metricsAddress?: string;
  /** A count, or `auto`. */
  workers?: string;
  /** False with `--no-https` (proxy local). */
  https?: boolean;
  dontInstallCert?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  trustStores?: string;
}

/** What {@linkcode parseConfig} needs. */
export interface ParseInput {
  /** `proxy`, `tunnel` or `local` (= `proxy local`). */
  command: "proxy" | "tunnel" | "local";
  appUrl: string;
  publishUrl?: string;
  options: RawOptions;
  env: Readonly<Record<string, string | undefined>>;
  /** The cores `--workers auto` means; default `navigator.hardwareConcurrency`. */
  cores?: number;
}

const DEFAULT_PORT = 4000;
const DEFAULT_ENDPOINT = "https://oryapis.com";
const DEFAULT_JWT_TTL_MS = 60_000;
const DEFAULT_SESSION_CACHE_TTL_MS = 10_000;
/**
 * How often a session with long-lived connections open is asked about again: a revocation
 * Ory was told of directly (its admin API) ends them within this, at one whoami per such
 * session per interval.
 */
const DEFAULT_SESSION_RECHECK_INTERVAL_MS = 30_000;
const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
/** Time a client has to send a request head before it is cut off (slowloris). */
const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
/** Envoy's stream idle timeout; WebSocket apps that ping do so every 30–60 s. */
const DEFAULT_WEBSOCKET_IDLE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_REWRITE_BYTES = 8 * 1024 * 1024;
/** More event loops than this is a typo (a 64-core machine runs `auto`). */
const MAX_WORKERS = 256;
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates everything and returns a frozen {@linkcode Config}; throws {@linkcode ConfigError}. */
export function parseConfig(input: ParseInput): Config {
  const { options, env } = input;
  const mode: Mode = input.command === "tunnel" ? "tunnel" : "proxy";
  const local = input.command === "local";

  const port = parsePort(options.port ?? nonEmpty(env.PORT), options.port ? "--port" : "PORT");
  const appUrl = parseHttpUrl("the application URL", input.appUrl);
  const publishUrl = resolvePublishUrl(input, port);
  const oryUrl = resolveOryUrl(options, env);
  const oryPrefix = mode === "proxy" ? "/.ory" : "";
  const { defaultRedirectUrl, cors } = parseRedirectAndCors(options, { mode, appUrl, publishUrl });
  const cookieDomain = options.cookieDomain === undefined || options.cookieDomain === ""
    ? undefined
    : validateCookieDomain(options.cookieDomain);
  const logLevel = parseLogLevel(options);
  const jwt = parseJwt(options, env, mode);
  const tls = parseTls(options, local);

  const config: Config = {
    mode,
    appUrl,
    oryUrl,
    publishUrl,
    oryPrefix,
    oryBase: baseOf(oryUrl),
    appBase: baseOf(appUrl),
    publishOrigin: publishUrl.origin,
    oryPublicBase: publishUrl.origin + oryPrefix,
    port,
    hostname: options.host ?? "0.0.0.0",
    apiKey: nonEmpty(options.apiKey) ?? nonEmpty(env.ORY_PROJECT_API_KEY) ??
      nonEmpty(env.ORY_API_KEY),
    rateLimitAction: nonEmpty(env.ORY_RATE_LIMIT_HEADER),
    cookieDomain,
    cors,
    defaultRedirectUrl,
    jwt,
    // Rules are compiled (and a malformed one refused) with the session features.
    protect: mode === "proxy" ? [...(options.protectPathPrefix ?? [])] : [],
    requireAal2: mode === "proxy" ? [...(options.requireAal2 ?? [])] : [],
    requireVerifiedEmail: mode === "proxy" ? [...(options.requireVerifiedEmail ?? [])] : [],
    requireIdentity: mode === "proxy" ? [...(options.requireIdentity ?? [])] : [],
    identityHeaders: mode === "proxy" && options.identityHeaders === true,
    rewriteHost: options.rewriteHost === true,
    ...parseLimits(options),
    logLevel,
    logFormat: parseLogFormat(options.logFormat ?? nonEmpty(env.ORYGATE_LOG_FORMAT)),
    metricsAddress: parseMetricsAddress(options, env, {
      hostname: options.host ?? "0.0.0.0",
      port,
    }),
    workers: parseWorkers(options.workers ?? nonEmpty(env.ORYGATE_WORKERS), {
      name: options.workers !== undefined ? "--workers" : "ORYGATE_WORKERS",
      cores: input.cores ?? navigator.hardwareConcurrency,
    }),
    open: options.open ?? local,
    tls,
  };
  return deepFreeze(config);
}

/**
 * The publish URL: `https://localhost:<port>` for `proxy local` (http with `--no-https`),
 * else the one given (an origin, no path) or `http://localhost:<port>`.
 */
function resolvePublishUrl(input: ParseInput, port: number): URL {
  if (input.command === "local") {
    if (input.publishUrl !== undefined) {
      throw new ConfigError(
        "proxy local takes no publish URL: it always serves https://localhost:<port>",
      );
    }
    const https = input.options.https !== false;
    return new URL(`${https ? "https" : "http"}://localhost:${port}`);
  }
  if (input.publishUrl === undefined) return new URL(`http://localhost:${port}`);
  const what = input.command === "tunnel" ? "the tunnel URL" : "the publish URL";
  return parseOrigin(what, input.publishUrl);
}

/**
 * The default redirect URL and the CORS policy, together because each bounds the other: a
 * `--default-redirect-url` must stay on the publish URL, the application or an allowed origin.
 */
function parseRedirectAndCors(
  options: RawOptions,
  where: { readonly mode: Mode; readonly appUrl: URL; readonly publishUrl: URL },
): Pick<Config, "defaultRedirectUrl" | "cors"> {
  const { mode, appUrl, publishUrl } = where;
  const defaultRedirectUrl = options.defaultRedirectUrl === undefined
    ? (mode === "tunnel" ? appUrl : publishUrl)
    : parseHttpUrl("--default-redirect-url", options.defaultRedirectUrl, publishUrl);

  const origins = splitList(options.allowedCorsOrigins).map(validateCorsOrigin);
  if (options.defaultRedirectUrl !== undefined) {
    checkRedirectTarget(defaultRedirectUrl, [publishUrl.origin, appUrl.origin, ...origins]);
  }
  const additionalHeaders = splitList(options.additionalCorsHeaders).map((h) => {
    if (!HEADER_TOKEN.test(h)) {
      throw new ConfigError(`Cannot use --additional-cors-headers: "${h}" is not a header name`);
    }
    return h;
  });
  return {
    defaultRedirectUrl,
    cors: {
      // The tunnel serves an app on another origin: that origin is always allowed.
      origins: mode === "tunnel" ? [appUrl.origin, ...origins] : origins,
      anyOrigin: options.dev === true,
      additionalHeaders,
    },
  };
}

function parseLogLevel(options: RawOptions): LogLevel {
  if (options.quiet && options.debug) {
    throw new ConfigError("Use either --quiet or --debug, not both");
  }
  return options.quiet ? "quiet" : options.debug ? "debug" : "info";
}

function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new ConfigError(`Cannot use --log-format: "${value}" is not one of text, json`);
}

/**
 * `--metrics-address <host:port>` (or `ORYGATE_METRICS_ADDRESS`): `127.0.0.1:9464`,
 * `[::1]:9464`, or `:9464` for every interface. It may never be the public port on the same
 * interface: metrics are for the operator, not for the users of the app.
 */
function parseMetricsAddress(
  options: RawOptions,
  env: ParseInput["env"],
  publicAddress: ListenAddress,
): ListenAddress | undefined {
  const name = options.metricsAddress !== undefined
    ? "--metrics-address"
    : "ORYGATE_METRICS_ADDRESS";
  const value = nonEmpty(options.metricsAddress) ?? nonEmpty(env.ORYGATE_METRICS_ADDRESS);
  if (value === undefined) {
    if (options.metricsAddress !== undefined) {
      throw new ConfigError("Cannot use --metrics-address: it is empty (use e.g. 127.0.0.1:9464)");
    }
    return undefined;
  }
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (match === null || port < 1 || port > 65535) {
    throw new ConfigError(
      `Cannot use ${name}: "${value}" is not a host:port address (use e.g. 127.0.0.1:9464)`,
    );
  }
  const hostname = match[1] === "" ? "0.0.0.0" : match[1].replace(/^\[(.*)\]$/, "$1");
  const wildcard = (h: string) => h === "0.0.0.0" || h === "::";
  if (
    port === publicAddress.port &&
    (hostname === publicAddress.hostname || wildcard(hostname) || wildcard(publicAddress.hostname))
  ) {
    throw new ConfigError(
      `Cannot use ${name} ${value}: it is the public port ${port}; metrics need their own port`,
    );
  }
  return { hostname, port };
}

/** `--workers <n|auto>` (or `ORYGATE_WORKERS`): 1 by default; `auto` is one per core. */
function parseWorkers(
  value: string | undefined,
  where: { readonly name: string; readonly cores: number },
): number {
  if (value === undefined) return 1;
  const text = value.trim().toLowerCase();
  if (text === "auto") return Math.max(1, Math.min(MAX_WORKERS, where.cores));
  if (!/^\d+$/.test(text)) {
    throw new ConfigError(
      `Cannot parse ${where.name}: "${value}" is not a count (use e.g. 2, or auto for one per core)`,
    );
  }
  const n = Number(text);
  if (n < 1 || n > MAX_WORKERS) {
    throw new ConfigError(
      `Cannot use ${where.name} ${n}: it must be between 1 and ${MAX_WORKERS} (or auto)`,
    );
  }
  return n;
}

/** Session → JWT settings; JWTs are never on in the tunnel. */
function parseJwt(options: RawOptions, env: ParseInput["env"], mode: Mode): JwtConfig {
  const jwtTtlMs = options.jwtTtl === undefined
    ? DEFAULT_JWT_TTL_MS
    : parseDuration("--jwt-ttl", options.jwtTtl);
  if (jwtTtlMs < 1000) throw new ConfigError("Cannot use --jwt-ttl: it must be at least 1s");
  return {
    enabled: mode === "proxy" && options.jwt !== false,
    ttlSeconds: Math.round(jwtTtlMs / 1000),
    ...parseJwks(options, env),
    redisUrl: parseRedisUrl(options, env),
    sessionCacheTtlMs: options.sessionCacheTtl === undefined
      ? DEFAULT_SESSION_CACHE_TTL_MS
      : parseDuration("--session-cache-ttl", options.sessionCacheTtl),
    sessionRecheckIntervalMs: parseRecheckInterval(options.sessionRecheckInterval),
  };
}

/** `--session-recheck-interval`: 0 (off) or at least 1 s, so Ory is not asked in a loop. */
function parseRecheckInterval(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SESSION_RECHECK_INTERVAL_MS;
  const ms = parseDuration("--session-recheck-interval", value);
  if (ms !== 0 && ms < 1000) {
    throw new ConfigError(
      `Cannot use --session-recheck-interval ${value.trim()}: it must be 0 (no re-checks) or at least 1s`,
    );
  }
  return ms;
}

/**
 * `--jwks` or `ORYGATE_JWKS`: a file path, or the JWK Set JSON itself (recognised by its
 * leading `{`, which no sensible path starts with), as a Kubernetes Secret is easily given.
 */
function parseJwks(
  options: RawOptions,
  env: ParseInput["env"],
): Pick<JwtConfig, "jwksFile" | "jwksJson" | "jwksSource"> {
  const flag = nonEmpty(options.jwks);
  const value = flag ?? nonEmpty(env.ORYGATE_JWKS);
  if (value === undefined) return {};
  const jwksSource = flag !== undefined ? "--jwks" : "ORYGATE_JWKS";
  return value.trimStart().startsWith("{")
    ? { jwksJson: value, jwksSource }
    : { jwksFile: value, jwksSource };
}

/** `--redis-url` / `ORYGATE_REDIS_URL`: a `redis:` or `rediss:` URL, checked here. */
function parseRedisUrl(options: RawOptions, env: ParseInput["env"]): string | undefined {
  const name = options.redisUrl !== undefined ? "--redis-url" : "ORYGATE_REDIS_URL";
  const value = nonEmpty(options.redisUrl) ?? nonEmpty(env.ORYGATE_REDIS_URL);
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Cannot use ${name} ${value}: it is not a URL`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new ConfigError(`Cannot use ${name}: a redis:// or rediss:// URL is expected`);
  }
  return value;
}

/** TLS for `proxy local` (undefined with `--no-https` and for the other commands). */
function parseTls(options: RawOptions, local: boolean): TlsConfig | undefined {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new ConfigError("Use --tls-cert and --tls-key together");
  }
  if (!local && (options.tlsCert !== undefined)) {
    throw new ConfigError("--tls-cert and --tls-key are only for `proxy local`");
  }
  if (!local || options.https === false) return undefined;
  return {
    certFile: options.tlsCert,
    keyFile: options.tlsKey,
    installCert: options.dontInstallCert !== true,
    trustStores: options.trustStores === undefined
      ? undefined
      : splitList([options.trustStores]).map((s) => {
        if (s !== "nss" && s !== "firefox" && s !== "system") {
          throw new ConfigError(
            `Cannot use --trust-stores: "${s}" is not one of nss, firefox, system`,
          );
        }
        return s;
      }),
  };
}

/** Timeouts and the rewrite cap. */
function parseLimits(
  options: RawOptions,
): Pick<
  Config,
  "upstreamTimeoutMs" | "headerTimeoutMs" | "websocketIdleTimeoutMs" | "maxRewriteBytes"
> {
  return {
    upstreamTimeoutMs: options.upstreamTimeout === undefined
      ? DEFAULT_UPSTREAM_TIMEOUT_MS
      : positive(
        "--upstream-timeout",
        parseDuration("--upstream-timeout", options.upstreamTimeout),
      ),
    headerTimeoutMs: options.headerTimeout === undefined
      ? DEFAULT_HEADER_TIMEOUT_MS
      : positive("--header-timeout", parseDuration("--header-timeout", options.headerTimeout)),
    websocketIdleTimeoutMs: options.websocketIdleTimeout === undefined
      ? DEFAULT_WEBSOCKET_IDLE_TIMEOUT_MS
      : parseDuration("--websocket-idle-timeout", options.websocketIdleTimeout),
    maxRewriteBytes: options.maxRewriteSize === undefined
      ? DEFAULT_MAX_REWRITE_BYTES
      : parseSize("--max-rewrite-size", options.maxRewriteSize),
  };
}

function resolveOryUrl(options: RawOptions, env: ParseInput["env"]): URL {
  const sdkUrl = nonEmpty(options.sdkUrl) ?? nonEmpty(env.ORY_SDK_URL);
  if (sdkUrl !== undefined) {
    const url = parseHttpUrl(options.sdkUrl ? "--sdk-url" : "ORY_SDK_URL", sdkUrl);
    if (url.search || url.hash) {
      throw new ConfigError(`Cannot use the Ory SDK URL "${sdkUrl}": remove its query or fragment`);
    }
    return url;
  }
  const project = nonEmpty(options.project) ?? nonEmpty(env.ORY_PROJECT_SLUG) ??
    nonEmpty(env.ORY_PROJECT_ID);
  if (project === undefined) {
    throw new ConfigError(
      "Missing Ory URL: pass --sdk-url <url> (or set ORY_SDK_URL) or --project <slug> (or ORY_PROJECT_SLUG)",
    );
  }
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(project)) {
    throw new ConfigError(`Cannot use --project: "${project}" is not a project slug or id`);
  }
  const endpointRaw = nonEmpty(options.endpoint) ?? nonEmpty(options.apiEndpoint) ??
    DEFAULT_ENDPOINT;
  const endpoint = parseHttpUrl("--endpoint", endpointRaw);
  return new URL(`${endpoint.protocol}//${project.toLowerCase()}.projects.${endpoint.host}`);
}

function parsePort(value: string | undefined, name: string): number {
  if (value === undefined) return DEFAULT_PORT;
  if (!/^\d+$/.test(value.trim())) {
    throw new ConfigError(`Cannot parse ${name}: "${value}" is not a number`);
  }
  const port = Number(value.trim());
  if (port < 1 || port > 65535) {
    throw new ConfigError(`Cannot use ${name} ${port}: a port is between 1 and 65535`);
  }
  return port;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

function parseSize(flag: string, value: string): number {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new ConfigError(`Cannot parse ${flag}: "${value}" is not a size (use e.g. 512kb, 8mb)`);
  }
  return positive(flag, Number(match[1]) * unit);
}

function positive(flag: string, n: number): number {
  if (n <= 0) throw new ConfigError(`Cannot use ${flag}: it must be greater than zero`);
  return n;
}

/**
 * A default redirect may only lead to the publish URL, the application, or an origin the user
 * allowed with --allowed-cors-origins: anything else would make orygate an open redirect.
 */
function checkRedirectTarget(url: URL, allowed: readonly string[]): void {
  const ok = compileOriginMatcher(allowed)(url.origin);
  if (!ok) {
    throw new ConfigError(
      `Cannot use --default-redirect-url ${url.href}: it must be on the publish URL, the application, or an --allowed-cors-origins origin`,
    );
  }
}

function validateCorsOrigin(value: string): string {
  if (value === "*") return value;
  const trimmed = value.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/\s?#]+$/i.test(trimmed)) {
    throw new ConfigError(
      `Cannot use --allowed-cors-origins: "${value}" is not an origin like https://app.example.com (wildcards allowed: https://*.example.com)`,
    );
  }
  return trimmed.toLowerCase();
}

function validateCookieDomain(value: string): string {
  if (
    !/^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      value,
    )
  ) {
    throw new ConfigError(`Cannot use --cookie-domain: "${value}" is not a domain name`);
  }
  return value.toLowerCase();
}

/** Splits repeatable, comma-separated list options into trimmed, non-empty items. */
function splitList(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !(value instanceof URL)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
