/**
 * The stand-ins `scripts/bench.ts` needs besides nginx, in one small server that the bench runs
 * as its own process (so its work shares neither an event loop nor a CPU count with the load
 * generator's):
 *
 * - `GET /sessions/whoami`: Ory's session check. 200 with an active session of identity
 *   `--identity` for the token `--token` (cookie `ory_kratos_session`, `X-Session-Token` or
 *   Bearer), 401 otherwise.
 * - `GET /stats`: `{"whoami": <calls so far>}`, so the bench can see that orygate's cache works.
 * - `PUT`/`POST /upload`: reads the whole body, answers how many bytes arrived. nginx cannot be
 *   this sink: with `return 200` it answers before reading and discards the body.
 * - `GET /sse`: `text/event-stream`, one event per 100 ms per stream (`data: <ms since epoch>`,
 *   with sub-ms digits, so clients can tell how late an event arrived).
 *
 * Usage: `deno run -A scripts/_bench_upstream.ts --port 8080 --token s3cr3t --identity <uuid>`
 *
 * @module
 */

const args = Deno.args;
const arg = (name: string) => args[args.indexOf(`--${name}`) + 1];
const port = Number(arg("port"));
const token = arg("token");
const identity = arg("identity");

let whoamiCalls = 0;

function tokenFrom(headers: Headers): string | undefined {
  const cookie = /(?:^|;\s*)ory_kratos_session=([^;]+)/.exec(headers.get("cookie") ?? "");
  // `||`, not `??`: Go's Ory SDK sends empty X-Session-Token and Authorization headers.
  return headers.get("x-session-token") || cookie?.[1] ||
    /^Bearer (.+)$/i.exec(headers.get("authorization") ?? "")?.[1];
}

function whoami(req: Request): Response {
  whoamiCalls++;
  if (tokenFrom(req.headers) !== token) {
    return Response.json({ error: { code: 401 } }, { status: 401 });
  }
  const now = new Date().toISOString();
  // Shaped like Kratos's answer: the Go SDK refuses a session without the required fields.
  return Response.json({
    id: "6b3e2a52-5f2c-4d47-9d6a-2f7b1c9e0a11",
    active: true,
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    authenticated_at: now,
    issued_at: now,
    identity: {
      id: identity,
      schema_id: "default",
      schema_url: "http://127.0.0.1/schemas/default",
      state: "active",
      traits: { email: "bench@example.org" },
    },
  });
}

/** Reads and drops the body; the count is the proof that every byte went through. */
async function upload(req: Request): Promise<Response> {
  let bytes = 0;
  if (req.body) {
    for await (const chunk of req.body) bytes += chunk.byteLength;
  }
  return new Response(String(bytes));
}

// Open SSE streams in ten groups; a 10 ms timer serves one group per tick, so each stream gets
// an event every 100 ms without all of them arriving in one burst (which would make the
// delays measure this process's fan-out rather than the proxy).
type Controller = ReadableStreamDefaultController<Uint8Array>;
const groups = Array.from({ length: 10 }, () => new Set<Controller>());
let opened = 0;
const encoder = new TextEncoder();
/** Milliseconds since the epoch with sub-ms precision (`Date.now()` has whole ms only). */
const now = () => performance.timeOrigin + performance.now();
// Ticks are counted from the clock, not from the timer, which runs late: a late tick serves
// every group that is due, so the rate stays at 10 events per stream and second.
let served = Math.floor(now() / 10);
setInterval(() => {
  for (const due = Math.floor(now() / 10); served < due; served++) {
    const group = groups[served % groups.length];
    if (group.size === 0) continue;
    const event = encoder.encode(`data: ${now()}\n\n`);
    for (const c of group) c.enqueue(event);
  }
}, 10);

function sse(): Response {
  const group = groups[opened++ % groups.length];
  let controller: Controller;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      // A first event at once, so a client knows the stream is up without waiting for a tick.
      c.enqueue(encoder.encode(`data: ${now()}\n\n`));
      group.add(c);
    },
    cancel() {
      group.delete(controller);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, (req) => {
  const path = new URL(req.url).pathname;
  switch (path) {
    case "/sessions/whoami":
      return whoami(req);
    case "/stats":
      return Response.json({
        whoami: whoamiCalls,
        streams: groups.reduce((n, g) => n + g.size, 0),
      });
    case "/upload":
      return upload(req);
    case "/sse":
      return sse();
    default:
      return new Response("ok\n");
  }
});
