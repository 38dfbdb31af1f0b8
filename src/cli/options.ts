/**
 * The engine commands' flags, defined once: those `proxy`, `proxy local` and `tunnel` share
 * ({@linkcode addSharedOptions}) and the session → JWT ones of `proxy` and `proxy local`
 * ({@linkcode addJwtOptions}). Each command's own flags (`--open`, `--no-https`, …) are in
 * `run.ts`. The descriptions name environment variables, but those are read by the config
 * parser (`config/parse.ts`), not here, so that rule stays pure and tested.
 *
 * @example
 * ```ts ignore
 * import { Command } from "commander";
 * import { addSharedOptions } from "./options.ts";
 * addSharedOptions(new Command("proxy"));
 * ```
 */
import { type Command, Option } from "commander";

/**
 * Collects a repeatable option's values into an array, as given: comma-separated values are
 * split later, by the config parser.
 */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds the flags every engine command accepts. */
export function addSharedOptions(command: Command): Command {
  return command
    .option("--port <port>", "port to listen on (default: 4000; env: PORT)")
    .option("--host <address>", "interface to listen on (default: 0.0.0.0, all of them)")
    .option(
      "--sdk-url <url>",
      "Ory's API URL, e.g. https://<slug>.projects.oryapis.com (env: ORY_SDK_URL)",
    )
    .option(
      "-p, --project <slug>",
      "Ory Network project slug or id (env: ORY_PROJECT_SLUG, ORY_PROJECT_ID)",
    )
    .option(
      "--endpoint <url>",
      "Ory Network API endpoint that --project is resolved against (default: https://oryapis.com)",
    )
    .addOption(new Option("--api-endpoint <url>", "alias of --endpoint").hideHelp())
    .addOption(
      new Option("--console-api-endpoint <url>", "accepted for compatibility with `ory`; unused")
        .hideHelp(),
    )
    .option(
      "--api-key <key>",
      "Ory project API key, sent to Ory only (env: ORY_PROJECT_API_KEY, ORY_API_KEY)",
    )
    .option(
      "--cookie-domain <domain>",
      "Domain attribute of Ory's cookies (default: none, host-only cookies on the publish host)",
    )
    .option(
      "--allowed-cors-origins <origins>",
      "extra allowed CORS origins, repeatable or comma-separated, * wildcards allowed",
      collect,
    )
    .option(
      "--additional-cors-headers <headers>",
      "extra request headers allowed in CORS preflights, repeatable or comma-separated",
      collect,
    )
    .option(
      "--default-redirect-url <url>",
      "where Ory's default redirects go, absolute or relative to the publish URL (default: the publish URL; tunnel: the application URL)",
    )
    .option("--dev", "lax local-development settings: reflect any CORS origin")
    .option("--debug", "print more detail, e.g. refused CORS requests")
    .option("--quiet", "print nothing but errors")
    .option("--rewrite-host", "send the application's own host as Host (default: the publish host)")
    .option(
      "--upstream-timeout <duration>",
      "time an upstream has to start answering, e.g. 30s (default: 60s)",
    )
    .option(
      "--header-timeout <duration>",
      "time a client has to send its request headers before it is cut off (default: 10s)",
    )
    .option(
      "--websocket-idle-timeout <duration>",
      "close a WebSocket that carried nothing either way for this long, 0 for never (default: 5m)",
    )
    .option(
      "--max-rewrite-size <size>",
      "largest Ory text body read whole for rewriting (default: 8mb)",
    )
    .option(
      "--log-format <format>",
      "text, or json: one JSON object per line on stderr (default: text; env: ORYGATE_LOG_FORMAT)",
    )
    .option(
      "--workers <n|auto>",
      "event loops accepting on the port, auto: one per core (default: 1; env: ORYGATE_WORKERS; Linux)",
    )
    .option(
      "--metrics-address <host:port>",
      "serve Prometheus metrics at GET /metrics on this address, e.g. 127.0.0.1:9464 (default: off; env: ORYGATE_METRICS_ADDRESS)",
    );
}

/** Adds the session → JWT and protection flags (`proxy` and `proxy local`). */
export function addJwtOptions(command: Command): Command {
  return command
    .option("--no-jwt", "do not turn Ory sessions into JWTs for the application")
    .option("--jwt-ttl <duration>", "lifetime of a minted JWT (default: 1m)")
    .option(
      "--jwks <file>",
      "JWK Set file with the signing key(s), or the JSON itself; created if missing, so restarts keep the key (default: a new key each start; env: ORYGATE_JWKS)",
    )
    .option(
      "--session-cache-ttl <duration>",
      "how long an Ory session check is reused (default: 10s)",
    )
    .option(
      "--session-recheck-interval <duration>",
      "how often a session with WebSockets or event streams open is checked with Ory again; they close once it ended, 0 for never (default: 30s)",
    )
    .option(
      "--redis-url <url>",
      "Redis that carries logouts to every instance, e.g. redis://redis:6379 (default: none; env: ORYGATE_REDIS_URL)",
    )
    .option(
      "--protect-path-prefix <rule>",
      "protect a path prefix, URLPattern glob (e.g. /app/*/admin) or regex (re:^/api/v\\d+/), repeatable",
      collect,
    )
    .option(
      "--require-aal2 <rule>",
      "paths (same rule syntax) that need a session at AAL2: browsers step up through Ory's login, repeatable",
      collect,
    )
    .option(
      "--require-verified-email <rule>",
      "paths that need a verified email address: browsers go to Ory's verification flow, repeatable",
      collect,
    )
    .option(
      "--require-identity <rule-and-condition>",
      'paths whose identity must meet a condition, else 403, e.g. "/admin metadata_public.role=admin" (field: schema_id, traits.<path>, metadata_public.<path>; = or !=), repeatable',
      collect,
    )
    .option(
      "--identity-headers",
      "send X-Ory-Identity-Id, X-Ory-Session-Id, X-Ory-Identity-Email and X-Ory-Aal to the app for active sessions (clients' copies are always removed)",
    );
}
