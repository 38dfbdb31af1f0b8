import type { TunnelConn } from "../../src/http1/message.ts";
import { SessionTunnel } from "../../src/proxy/session_tunnel.ts";
import { FrameBoundaries } from "../../src/proxy/websocket_frames.ts";
import { assert, assertEquals } from "../_support/assert.ts";

/** The upstream side of a tunnel, in memory: what it will send, and what it was sent. */
class FakeUpstream implements TunnelConn {
  readonly sent: Uint8Array[] = [];
  closed = false;
  #queue: Uint8Array[] = [];
  #eof = false;
  #waiting: { p: Uint8Array; resolve: (n: number | null) => void; reject: (e: unknown) => void }[] =
    [];

  /** The upstream sends `bytes` (or, with none, closes its side). */
  push(bytes?: Uint8Array): void {
    if (bytes === undefined) this.#eof = true;
    else this.#queue.push(bytes);
    this.#serve();
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ p, resolve, reject });
      this.#serve();
    });
  }

  write(p: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    this.sent.push(p.slice());
    return Promise.resolve(p.byteLength);
  }

  close(): void {
    this.closed = true;
    for (const w of this.#waiting.splice(0)) w.reject(new Deno.errors.Interrupted("closed"));
  }

  #serve(): void {
    while (this.#waiting.length > 0 && (this.#queue.length > 0 || this.#eof)) {
      const w = this.#waiting.shift()!;
      const next = this.#queue.shift();
      if (next === undefined) {
        w.resolve(null);
        continue;
      }
      w.p.set(next);
      w.resolve(next.byteLength);
    }
  }
}

function frame(opcode: number, payload: number[] | string, masked = false): Uint8Array {
  const bytes = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const head = masked ? [0x80 | opcode, 0x80 | bytes.length, 0, 0, 0, 0] : [
    0x80 | opcode,
    bytes.length,
  ];
  return new Uint8Array([...head, ...bytes]);
}

/** The server's side of the join: reads the upstream through the tunnel, as `relay` does. */
function relayToClient(tunnel: SessionTunnel) {
  const received: number[] = [];
  const done = (async () => {
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await tunnel.read(buf);
      if (n === null) return;
      received.push(...buf.subarray(0, n));
    }
  })();
  return { received, done };
}

/** The close code and reason in a server's (unmasked) close frame at the end of `bytes`. */
function closeAtEnd(bytes: number[]): { code: number; reason: string } | undefined {
  const at = bytes.lastIndexOf(0x88);
  if (at === -1) return undefined;
  const len = bytes[at + 1];
  if (at + 2 + len !== bytes.length) return undefined;
  return {
    code: (bytes[at + 2] << 8) | bytes[at + 3],
    reason: new TextDecoder().decode(new Uint8Array(bytes.slice(at + 4))),
  };
}

/** The close code in a masked close frame the upstream was sent, if any. */
function maskedCloseCode(sent: Uint8Array[]): number | undefined {
  for (const f of sent) {
    if (f[0] !== 0x88 || (f[1] & 0x80) === 0) continue;
    const key = f.subarray(2, 6);
    return ((f[6] ^ key[0]) << 8) | (f[7] ^ key[1]);
  }
  return undefined;
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("SessionTunnel: while the session lasts, bytes pass both ways untouched", async () => {
  const up = new FakeUpstream();
  const tunnel = new SessionTunnel({ conn: up, leftover: new Uint8Array() });
  let closed = 0;
  tunnel.onClosed = () => closed++;
  const toClient = relayToClient(tunnel);
  const hello = frame(1, "hello");
  up.push(hello);
  const fromClient = frame(1, "hi", true);
  assertEquals(await tunnel.write(fromClient), fromClient.byteLength);
  up.push();
  await toClient.done;
  assertEquals(toClient.received, [...hello]);
  assertEquals(up.sent, [fromClient]);
  tunnel.close();
  tunnel.close();
  assertEquals(closed, 1);
  assert(up.closed);
});

Deno.test("SessionTunnel: ended between frames, the client gets 1008 and the upstream too", async () => {
  const up = new FakeUpstream();
  const tunnel = new SessionTunnel({ conn: up, leftover: new Uint8Array() });
  let closed = 0;
  tunnel.onClosed = () => closed++;
  const toClient = relayToClient(tunnel);
  up.push(frame(1, "one"));
  await tunnel.write(frame(1, "a", true));
  await tick();
  tunnel.end(); // a read of the upstream is waiting
  await tick();
  assertEquals(closeAtEnd(toClient.received), { code: 1008, reason: "session ended" });
  assertEquals(maskedCloseCode(up.sent), 1008);
  assert(up.closed, "the upstream is closed once the client has its close frame");
  // The client's message after the end never reaches the upstream; its close answer ends it.
  const sentBefore = up.sent.length;
  await tunnel.write(frame(1, "late", true));
  assertEquals(closed, 0, "still waiting for the client's close frame");
  await tunnel.write(frame(8, [0x03, 0xf0], true));
  await toClient.done;
  assertEquals(up.sent.length, sentBefore);
  assertEquals(closed, 1);
});

Deno.test("SessionTunnel: ended mid-frame, the frame finishes first, then the close", async () => {
  const up = new FakeUpstream();
  const big = frame(2, Array.from({ length: 100 }, (_, i) => i));
  // The upstream's first 40 bytes came with its 101 (the server writes those itself).
  const tunnel = new SessionTunnel({ conn: up, leftover: big.subarray(0, 40) }, { graceMs: 5000 });
  const toClient = relayToClient(tunnel);
  tunnel.end();
  await tick();
  assertEquals(toClient.received, [], "nothing before the frame's rest");
  // The rest of the frame arrives with another frame behind it: only the rest goes on.
  up.push(new Uint8Array([...big.subarray(40), ...frame(1, "after")]));
  await tick();
  await tick();
  const rest = [...big.subarray(40)];
  assertEquals(toClient.received.slice(0, rest.length), rest);
  assertEquals(closeAtEnd(toClient.received.slice(rest.length)), {
    code: 1008,
    reason: "session ended",
  });
  // The client's stream was between frames: the upstream was told too.
  assertEquals(maskedCloseCode(up.sent), 1008);
  tunnel.close();
  await toClient.done;
});

Deno.test("SessionTunnel: an upstream stuck mid-frame is cut after the grace time", async () => {
  const up = new FakeUpstream();
  const tunnel = new SessionTunnel({ conn: up, leftover: new Uint8Array() }, { graceMs: 50 });
  let closed = 0;
  tunnel.onClosed = () => closed++;
  const toClient = relayToClient(tunnel);
  up.push(frame(2, Array.from({ length: 100 }, () => 7)).subarray(0, 30));
  await tick();
  // The client is mid-frame too: the upstream gets no close frame, and no more bytes.
  await tunnel.write(frame(1, "abcdef", true).subarray(0, 5));
  const started = performance.now();
  tunnel.end();
  await tunnel.write(new Uint8Array([1, 2, 3]));
  await toClient.done;
  assert(performance.now() - started >= 40, "waited for the frame to finish");
  assertEquals(closeAtEnd(toClient.received), undefined, "no close frame inside a frame");
  assertEquals(toClient.received.length, 30);
  assertEquals(up.sent.length, 1, "only the bytes before the end");
  assertEquals(maskedCloseCode(up.sent), undefined);
  assert(up.closed);
  assertEquals(closed, 1);
});

Deno.test("SessionTunnel: a client that never answers the close is cut after the grace time", async () => {
  const up = new FakeUpstream();
  const tunnel = new SessionTunnel({ conn: up, leftover: new Uint8Array() }, { graceMs: 50 });
  const toClient = relayToClient(tunnel);
  tunnel.end();
  await toClient.done;
  assertEquals(closeAtEnd(toClient.received)?.code, 1008);
});

Deno.test("SessionTunnel: an upstream that closes after the end still leaves the client its close", async () => {
  const up = new FakeUpstream();
  const tunnel = new SessionTunnel({ conn: up, leftover: new Uint8Array() }, { graceMs: 50 });
  const toClient = relayToClient(tunnel);
  const half = frame(1, "0123456789");
  up.push(half.subarray(0, 4));
  await tick();
  tunnel.end();
  up.push(half.subarray(4));
  up.push(); // the upstream answered our close by closing
  await toClient.done;
  assertEquals(toClient.received.slice(0, half.byteLength), [...half]);
  assertEquals(closeAtEnd(toClient.received)?.code, 1008);
  const follower = new FrameBoundaries();
  follower.feed(new Uint8Array(toClient.received));
  assert(follower.atBoundary && follower.closeSeen, "whole frames, the last a close");
});
