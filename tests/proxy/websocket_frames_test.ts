import { closeFrame, FrameBoundaries } from "../../src/proxy/websocket_frames.ts";
import { assert, assertEquals } from "../_support/assert.ts";

/** A frame as a peer sends it: FIN + opcode, the length in its 7/16/64-bit form, an optional mask. */
function frame(opcode: number, size: number, masked = false): Uint8Array {
  const head: number[] = [0x80 | opcode];
  const m = masked ? 0x80 : 0;
  if (size < 126) head.push(m | size);
  else if (size < 65536) head.push(m | 126, size >> 8, size & 0xff);
  else {
    head.push(m | 127);
    for (let k = 7; k >= 0; k--) head.push(Math.floor(size / 2 ** (8 * k)) & 0xff);
  }
  if (masked) head.push(1, 2, 3, 4);
  const out = new Uint8Array(head.length + size);
  out.set(head);
  out.fill(0x61, head.length);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

Deno.test("FrameBoundaries: every split of a stream ends on the same boundaries", () => {
  // 7-bit, 16-bit and 64-bit lengths, masked and not, an empty frame, a close frame.
  const frames = [
    frame(1, 5),
    frame(2, 300, true),
    frame(1, 0),
    frame(2, 70_000),
    frame(0x9, 3, true),
    frame(8, 2),
  ];
  const stream = concat(...frames);
  const ends = new Set<number>();
  let at = 0;
  for (const f of frames) ends.add(at += f.byteLength);
  // Fed in pieces of every size from 1 to 40 bytes: the boundary holds exactly at frame ends.
  for (let piece = 1; piece <= 40; piece++) {
    const b = new FrameBoundaries();
    for (let off = 0; off < stream.byteLength; off += piece) {
      const end = Math.min(off + piece, stream.byteLength);
      assertEquals(b.feed(stream.subarray(off, end)), end - off);
      assertEquals(b.atBoundary, ends.has(end), `piece ${piece}, after ${end} bytes`);
    }
    assert(b.atBoundary);
    assert(b.closeSeen, "the close frame's header was seen");
  }
});

Deno.test("FrameBoundaries: stopAtBoundary takes only the rest of the frame under way", () => {
  const b = new FrameBoundaries();
  const first = frame(1, 10);
  const second = frame(1, 4);
  // Half of the first frame goes by, then the rest arrives together with the next frame.
  assertEquals(b.feed(first.subarray(0, 6)), 6);
  const rest = concat(first.subarray(6), second);
  assertEquals(b.feed(rest, true), first.byteLength - 6);
  assert(b.atBoundary);
  // At a boundary it takes nothing.
  assertEquals(b.feed(second, true), 0);
  // A split header: the stop comes after the empty frame's header.
  const empty = frame(1, 0);
  assertEquals(b.feed(empty.subarray(0, 1)), 1);
  assertEquals(b.feed(concat(empty.subarray(1), second), true), 1);
  assert(b.atBoundary);
});

Deno.test("FrameBoundaries: closeSeen only after a close frame, and resets", () => {
  const b = new FrameBoundaries();
  b.feed(concat(frame(1, 3, true), frame(0xa, 0, true)));
  assertEquals(b.closeSeen, false);
  b.feed(frame(8, 2, true).subarray(0, 2)); // the header's first two bytes; the mask follows
  assertEquals(b.closeSeen, false);
  b.feed(frame(8, 2, true).subarray(2));
  assertEquals(b.closeSeen, true);
  b.resetClose();
  assertEquals(b.closeSeen, false);
});

Deno.test("closeFrame(): the code and reason, unmasked or masked as RFC 6455 says", () => {
  const plain = closeFrame(1008, "session ended");
  assertEquals([...plain.subarray(0, 4)], [0x88, 15, 0x03, 0xf0]);
  assertEquals(new TextDecoder().decode(plain.subarray(4)), "session ended");

  const masked = closeFrame(1008, "session ended", true);
  assertEquals(masked[0], 0x88);
  assertEquals(masked[1], 0x80 | 15);
  const key = masked.subarray(2, 6);
  const payload = masked.subarray(6).map((b, i) => b ^ key[i & 3]);
  assertEquals([...payload.subarray(0, 2)], [0x03, 0xf0]);
  assertEquals(new TextDecoder().decode(payload.subarray(2)), "session ended");

  // Both are one whole frame to a follower, and a close one.
  for (const f of [plain, masked]) {
    const b = new FrameBoundaries();
    b.feed(f);
    assert(b.atBoundary && b.closeSeen);
  }
  // A reason is cut to 123 bytes, so the payload fits a 7-bit length.
  assertEquals(closeFrame(1000, "x".repeat(500)).byteLength, 2 + 125);
});
