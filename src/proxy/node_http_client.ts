/**
 * An {@linkcode UpstreamClient} on `node:http`/`node:https` with keep-alive pools.
 *
 * Chosen over `fetch` because `fetch` in Deno (a) decompresses bodies behind the caller's
 * back while keeping `Content-Encoding`, and (b) ignores a `Host` header; a proxy needs bytes
 * passed through untouched and control of `Host`. Bodies stream both ways with backpressure.
 *
 * @example
 * ```ts
 * import { createNodeHttpClient } from "./node_http_client.ts";
 * const send = createNodeHttpClient();
 * const res = await send({
 *   url: new URL("http://127.0.0.1:3000/"),
 *   method: "GET",
 *   headers: new Headers({ host: "127.0.0.1:3000" }),
 *   body: null,
 *   signal: new AbortController().signal,
 *   upstream: "application",
 *   timeoutMs: 5000,
 * });
 * ```
 */
import http from "node:http";
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { UpstreamError } from "../errors.ts";
import type { UpstreamClient, UpstreamRequest, UpstreamResponse } from "./upstream.ts";

/** Pool settings. */
export interface NodeHttpClientOptions {
  /** Most sockets per upstream host (default 512). */
  readonly maxSockets?: number;
  /** Most idle sockets kept per upstream host (default 128). */
  readonly maxFreeSockets?: number;
}

/** A pooled client plus a way to close its idle sockets (for shutdown and tests). */
export interface NodeHttpClient extends UpstreamClient {
  close(): void;
}

const HIGH_WATER_MARK = 64 * 1024;

/** Creates a pooled upstream client. */
export function createNodeHttpClient(options: NodeHttpClientOptions = {}): NodeHttpClient {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 512,
    maxFreeSockets: options.maxFreeSockets ?? 128,
  };
  const httpAgent = new http.Agent(agentOptions);
  const httpsAgent = new https.Agent(agentOptions);

  const send = ((request: UpstreamRequest) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const { url, upstream } = request;
      const isHttps = url.protocol === "https:";
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => {
        headers[name] = value;
      });
      let settled = false;
      const fail = (err: UpstreamError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = (isHttps ? https : http).request({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (isHttps ? 443 : 80),
        method: request.method,
        path: url.pathname + url.search,
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
        servername: isHttps ? url.hostname : undefined,
      });
      const timer = setTimeout(() => {
        fail(
          new UpstreamError(
            "ERR_UPSTREAM_TIMEOUT",
            upstream,
            `the ${upstream} at ${url.origin} did not answer within ${request.timeoutMs / 1000}s`,
          ),
        );
      }, request.timeoutMs);
      const onAbort = () => {
        clearTimeout(timer);
        req.destroy();
        if (!settled) {
          settled = true;
          reject(request.signal.reason ?? new DOMException("aborted", "AbortError"));
        }
      };
      if (request.signal.aborted) return onAbort();
      request.signal.addEventListener("abort", onAbort, { once: true });

      req.on("error", (err: Error & { code?: string }) => {
        fail(
          new UpstreamError(
            "ERR_UPSTREAM_UNREACHABLE",
            upstream,
            `the ${upstream} at ${url.origin} could not be reached (${err.code ?? err.message})`,
            { cause: err },
          ),
        );
      });
      req.on("response", (res: IncomingMessage) => {
        clearTimeout(timer);
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        const responseHeaders = new Headers();
        const raw = res.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
          try {
            responseHeaders.append(raw[i], raw[i + 1]);
          } catch {
            // A header Headers cannot hold (invalid name or value) is dropped, not forwarded.
          }
        }
        const noBody = request.method === "HEAD" || res.statusCode === 204 ||
          res.statusCode === 304;
        resolve({
          status: res.statusCode ?? 502,
          statusText: res.statusMessage ?? "",
          headers: responseHeaders,
          body: noBody ? (res.resume(), null) : toWebStream(res, request, () => {
            request.signal.removeEventListener("abort", onAbort);
          }),
        });
        if (noBody) request.signal.removeEventListener("abort", onAbort);
      });

      void writeBody(req, request.body).catch((err) => {
        // The client's upload broke off: the upstream must not take a truncated body as whole.
        req.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    })) as NodeHttpClient;

  send.close = () => {
    httpAgent.destroy();
    httpsAgent.destroy();
  };
  return send;
}

async function writeBody(
  req: http.ClientRequest,
  body: ReadableStream<Uint8Array> | null,
): Promise<void> {
  if (body === null) {
    req.end();
    return;
  }
  for await (const chunk of body) {
    if (req.destroyed) return;
    if (!req.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          req.off("drain", done);
          req.off("close", done);
          resolve();
        };
        req.on("drain", done);
        req.on("close", done);
      });
    }
  }
  req.end();
}

function toWebStream(
  res: IncomingMessage,
  request: UpstreamRequest,
  onDone: () => void,
): ReadableStream<Uint8Array> {
  let finished = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      // Node may still emit 'data'/'end' after the consumer cancelled: the controller is
      // closed then, and touching it would throw outside any handler and end the process.
      res.on("data", (chunk: Uint8Array) => {
        if (finished) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      res.on("end", () => {
        if (finished) return;
        finished = true;
        onDone();
        controller.close();
      });
      const broken = () => {
        if (finished) return;
        finished = true;
        onDone();
        controller.error(
          new UpstreamError(
            "ERR_UPSTREAM_PROTOCOL",
            request.upstream,
            `the ${request.upstream} at ${request.url.origin} closed the response before its end`,
          ),
        );
      };
      res.on("error", broken);
      res.on("aborted", broken);
      res.on("close", () => {
        if (!res.complete) broken();
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      finished = true;
      onDone();
      res.destroy();
    },
  }, { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength });
}
