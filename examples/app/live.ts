/**
 * Long-lived connections for trying how orygate ends them with their session: an event stream
 * (`/events`), a WebSocket echo (`/echo`) and a page that holds both open (`/live`). Signed-in
 * browsers' connections close when the session ends (logout, expiry, revocation); anonymous ones
 * keep running.
 *
 * @module
 */

import { Html, markup, page } from "./html.ts";

/** `text/event-stream` that sends `{"n": <count>}` every `intervalMs` until the client leaves. */
export function eventStream(intervalMs = 1_000): Response {
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let n = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const tick = () => controller.enqueue(encoder.encode(`data: {"n":${++n}}\n\n`));
      tick();
      timer = setInterval(tick, intervalMs);
    },
    cancel() {
      clearInterval(timer);
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
}

/** A WebSocket that sends every message back. */
export function echoSocket(request: Request): Response {
  if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
    return new Response("WebSocket only\n", { status: 426, headers: { upgrade: "websocket" } });
  }
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = (event) => socket.send(event.data);
  return response;
}

/**
 * The page: opens `/events` and `/echo` and shows their state in `data-state` (`connecting`,
 * `open`, then `closed`/`ended`), the WebSocket's close code in `data-code`, counts in
 * `data-count`, and `Date.now()` at the end in `data-ended-at`. The event source is closed on
 * its first error instead of reconnecting, so an ended stream stays ended.
 */
export function livePage(): Response {
  return page(
    "Live connections",
    markup`<p>Both stay open while your session lasts; sign out in another tab and watch them end.</p>
<p>Event stream <code>/events</code>: <strong data-testid="live-events" data-state="connecting" data-count="0">connecting</strong></p>
<p>WebSocket <code>/echo</code>: <strong data-testid="live-ws" data-state="connecting" data-count="0">connecting</strong></p>
<script>${new Html(LIVE_SCRIPT)}</script>
`,
  );
}

const LIVE_SCRIPT = `
const events = document.querySelector('[data-testid="live-events"]');
const ws = document.querySelector('[data-testid="live-ws"]');
const show = (el, state, text) => { el.dataset.state = state; el.textContent = text; };
const ended = (el, state, text) => { el.dataset.endedAt = String(Date.now()); show(el, state, text); };
const count = (el) => String(Number(el.dataset.count) + 1);

const source = new EventSource("/events");
source.onmessage = () => {
  events.dataset.count = count(events);
  show(events, "open", "open, " + events.dataset.count + " events");
};
source.onerror = () => {
  source.close();
  const n = events.dataset.count;
  ended(events, "ended", "ended after " + n + (n === "1" ? " event" : " events"));
};

const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/echo");
socket.onopen = () => { show(ws, "open", "open"); socket.send("ping"); };
socket.onmessage = () => {
  ws.dataset.count = count(ws);
  show(ws, "open", "open, " + ws.dataset.count + " echoes");
  setTimeout(() => socket.readyState === WebSocket.OPEN && socket.send("ping"), 1000);
};
socket.onclose = (event) => {
  ws.dataset.code = String(event.code);
  ended(ws, "closed", "closed with code " + event.code);
};
`;
