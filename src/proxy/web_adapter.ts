/**
 * The web adapter: an engine as a web handler, `(Request, info?) => Promise<Response>`, for
 * `Deno.serve` and programs that embed orygate. A web `Request` already is a `ProxyRequest`;
 * the engine's `ProxyResult` becomes a `Response`. orygate's own HTTP/1.1 server needs none of
 * this: it serves the engine's plain objects directly.
 *
 * @example
 * ```ts ignore
 * import { createOrygateHandler } from "../create_handler.ts";
 * import { createProxyHandler } from "./web_adapter.ts";
 * const handler = createProxyHandler(await createOrygateHandler(config));
 * Deno.serve({ port: config.port }, handler);
 * ```
 *
 * @module
 */
import { type ProxyResult, toResponse } from "../http1/message.ts";
import type { ClientInfo, ProxyEngine } from "./contracts.ts";

/** An engine as a web handler (`Request` → `Response`). */
export interface ProxyHandler {
  (req: Request, info?: ClientInfo): Promise<Response>;
  /** Closes idle upstream connections (the engine's). */
  close(): void;
}

/** Wraps `engine` as a web handler. */
export function createProxyHandler(engine: ProxyEngine): ProxyHandler {
  const handler = async (req: Request, info?: ClientInfo) =>
    toResponse(reportFinish(await engine(req, info)));
  return Object.assign(handler, { close: () => engine.close() });
}

/**
 * Calls the result's `onFinished` (the engine's access line) as orygate's own server would:
 * at once for a body known whole, when a streamed body ends, fails or is cancelled.
 */
function reportFinish(result: ProxyResult): ProxyResult {
  const finished = result.onFinished;
  if (finished === undefined) return result;
  const body = result.body;
  if (!(body instanceof ReadableStream)) {
    finished(body?.byteLength ?? 0);
    return result;
  }
  let bytes = 0;
  let done = false;
  const once = (error?: unknown) => {
    if (!done) finished(bytes, error);
    done = true;
  };
  const reader = body.getReader();
  const counted = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          once();
        } else {
          bytes += value.byteLength;
          controller.enqueue(value);
        }
      } catch (err) {
        once(err);
        throw err;
      }
    },
    cancel(reason) {
      once(reason);
      return reader.cancel(reason);
    },
  });
  return { ...result, body: counted };
}
