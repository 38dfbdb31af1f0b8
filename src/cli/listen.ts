/**
 * Starts orygate's HTTP/1.1 server (`http1/server.ts`) for the engine and maps start-up failures
 * (port in use, no permission) to {@linkcode ConfigError}s the user can act on.
 *
 * @example
 * ```ts ignore
 * import { listen } from "./listen.ts";
 * const server = listen(engine, { port: 4000, hostname: "0.0.0.0", logger });
 * await server.shutdown();
 * ```
 */
import { ConfigError } from "../errors.ts";
import { type H1Handler, type H1Server, serveH1, type ServerHooks } from "../http1/server.ts";
import { listenHttps } from "../http1/https_listener.ts";
import type { Logger } from "../log/logger.ts";

/** A running server. */
export interface RunningServer {
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting, waits up to `graceMs` for in-flight requests, then closes the rest. */
  shutdown(graceMs?: number): Promise<void>;
}

/** What {@linkcode listen} needs. */
export interface ListenOptions {
  readonly port: number;
  readonly hostname: string;
  readonly logger: Logger;
  /** PEM certificate chain and key: serves HTTPS when given. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Time a client has to send a request head (slowloris guard); default 10 s. */
  readonly headerTimeoutMs?: number;
  /** How long a WebSocket tunnel may be silent both ways; default 5 minutes, 0: never. */
  readonly tunnelIdleTimeoutMs?: number;
  /**
   * With `tls`: plain HTTP sent to the port is answered with a redirect to this https origin
   * (a 400 naming it for other methods) instead of a TLS alert.
   */
  readonly httpsOrigin?: string;
  /** Told when connections and WebSocket tunnels open and close (the metrics' gauges). */
  readonly hooks?: ServerHooks;
  /**
   * Share the port with the other workers (`SO_REUSEPORT`: the kernel spreads new connections
   * over every listener that set it). Linux, with `--unstable-net` (`port_sharing.ts`).
   */
  readonly reusePort?: boolean;
}

/** Starts serving `handler`; throws ConfigError when the port cannot be used. */
export function listen(handler: H1Handler, options: ListenOptions): RunningServer {
  let server: H1Server;
  try {
    const { tls, httpsOrigin, hostname, port } = options;
    const reusePort = options.reusePort === true;
    server = serveH1({
      port,
      hostname,
      tls,
      listener: tls && httpsOrigin !== undefined
        ? listenHttps({
          hostname,
          port,
          cert: tls.cert,
          key: tls.key,
          httpsOrigin,
          reusePort,
          firstBytesTimeoutMs: options.headerTimeoutMs,
          onPlainHttp: (remote) =>
            options.logger.debug(
              `plain http from ${remote.hostname} on the https port: sent to ${httpsOrigin}`,
            ),
        })
        : reusePort
        ? Deno.listen({ hostname, port, reusePort })
        : undefined,
      headerTimeoutMs: options.headerTimeoutMs,
      tunnelIdleTimeoutMs: options.tunnelIdleTimeoutMs,
      hooks: options.hooks,
      onError: (err) => {
        options.logger.error(`request failed: ${err instanceof Error ? err.message : err}`);
      },
    }, handler);
  } catch (err) {
    throw listenError(err, { ...options, portFlag: "--port", hostFlag: "--host" });
  }
  return running(server);
}

/**
 * Starts the metrics listener (`--metrics-address`) with its handler; throws ConfigError when
 * the address cannot be used.
 */
export function listenMetrics(
  handler: H1Handler,
  options: Pick<ListenOptions, "hostname" | "port" | "logger">,
): RunningServer {
  try {
    return running(serveH1({
      hostname: options.hostname,
      port: options.port,
      onError: (err) => {
        options.logger.error(`metrics request failed: ${err instanceof Error ? err.message : err}`);
      },
    }, handler));
  } catch (err) {
    const flag = "--metrics-address";
    throw listenError(err, { ...options, portFlag: flag, hostFlag: flag });
  }
}

/**
 * Throws the ConfigError {@linkcode listen} would when the public port cannot be had. Workers
 * listen with `SO_REUSEPORT`, which lets them share the port with any listener that set it
 * too, such as another orygate's workers: a plain listener, opened and closed here first,
 * finds the port in use as one orygate alone would.
 */
export function checkPortFree(options: Pick<ListenOptions, "hostname" | "port">): void {
  try {
    Deno.listen({ hostname: options.hostname, port: options.port }).close();
  } catch (err) {
    throw listenError(err, { ...options, portFlag: "--port", hostFlag: "--host" });
  }
}

/** A start-up failure in words the user can act on (a ConfigError), or the error itself. */
function listenError(
  err: unknown,
  where: {
    readonly hostname: string;
    readonly port: number;
    readonly portFlag: string;
    readonly hostFlag: string;
  },
): unknown {
  const { port, hostname } = where;
  if (err instanceof Deno.errors.AddrInUse) {
    return new ConfigError(
      `Cannot listen on port ${port}: it is already in use (pick another with ${where.portFlag})`,
    );
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new ConfigError(
      `Cannot listen on port ${port}: permission denied (use a port above 1023)`,
    );
  }
  if (err instanceof Deno.errors.AddrNotAvailable || err instanceof Deno.errors.NotFound) {
    return new ConfigError(
      `Cannot listen on ${hostname} (${where.hostFlag}): no such local address`,
    );
  }
  return err;
}

function running(server: H1Server): RunningServer {
  return {
    finished: server.finished,
    async shutdown(graceMs = 5000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // Long-lived streams (SSE, WebSockets) would hold a graceful stop forever: after the
      // grace period the caller exits and the operating system closes what is left.
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([server.shutdown(), deadline]);
      clearTimeout(timer);
    },
  };
}
