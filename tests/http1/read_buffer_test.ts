import { BufferFull, ReadBuffer } from "../../src/http1/read_buffer.ts";
import { assert, assertEquals } from "../_support/assert.ts";

/** A connection that hands out `chunks` one read at a time (as much as fits), then ends. */
function fakeConn(chunks: Uint8Array[]): Deno.Conn {
  return {
    read(into: Uint8Array): Promise<number | null> {
      const next = chunks[0];
      if (next === undefined) return Promise.resolve(null);
      const n = Math.min(into.length, next.length);
      into.set(next.subarray(0, n));
      if (n === next.length) chunks.shift();
      else chunks[0] = next.subarray(n);
      return Promise.resolve(n);
    },
  } as unknown as Deno.Conn;
}

const filled = (n: number, value = 1) => new Uint8Array(n).fill(value);

Deno.test("ReadBuffer: reads land at end; consumed bytes are dropped; end of input is null", async () => {
  const rb = new ReadBuffer(fakeConn([filled(10, 7), filled(5, 8)]), {
    initialBytes: 16,
    maxBytes: 64,
  });
  assertEquals(await rb.fill(), 10);
  assertEquals([rb.start, rb.end, rb.buf[9]], [0, 10, 7]);
  rb.start = 10; // all consumed: the next read starts at the front again
  assertEquals(await rb.fill(), 5);
  assertEquals([rb.start, rb.end, rb.buf[0]], [0, 5, 8]);
  assertEquals(await rb.fill(), null);
});

Deno.test("ReadBuffer: grows when full, up to its limit, then BufferFull", async () => {
  const rb = new ReadBuffer(fakeConn([filled(200)]), { initialBytes: 16, maxBytes: 64 });
  let total = 0;
  try {
    for (;;) {
      const n = await rb.fill();
      if (n === null) break;
      total += n;
    }
    throw new Error("never full");
  } catch (err) {
    assert(err instanceof BufferFull, String(err));
  }
  assertEquals([rb.buf.length, total, rb.end - rb.start], [64, 64, 64]);
  // A lower limit for this fill (a server's head) is refused at that size.
  const head = new ReadBuffer(fakeConn([filled(100)]), { initialBytes: 16, maxBytes: 64 });
  await head.fill(32);
  await head.fill(32);
  try {
    await head.fill(32);
    throw new Error("more than 32 bytes of one head");
  } catch (err) {
    assert(err instanceof BufferFull, String(err));
  }
});

Deno.test("ReadBuffer: keeps unconsumed bytes in order when it compacts and grows", async () => {
  const data = Uint8Array.from({ length: 120 }, (_, i) => i);
  const rb = new ReadBuffer(fakeConn([data.slice(0, 12), data.slice(12, 120)]), {
    initialBytes: 16,
    maxBytes: 256,
  });
  const seen: number[] = [];
  while (seen.length < 120) {
    const n = await rb.fill();
    if (n === null) break;
    // Consume all but the last 3 bytes each time, so something always has to move.
    const keep = seen.length + (rb.end - rb.start) === 120 ? 0 : 3;
    while (rb.end - rb.start > keep) seen.push(rb.buf[rb.start++]);
  }
  assertEquals(seen, [...data]);
});

Deno.test("ReadBuffer: a read issued ahead is taken over by the next fill", async () => {
  const rb = new ReadBuffer(fakeConn([filled(4, 9)]), { initialBytes: 16, maxBytes: 64 });
  const ahead = rb.readAhead();
  assertEquals(await ahead, 4);
  assertEquals(rb.end, 0); // not counted until fill() takes it over
  assertEquals(await rb.fill(), 4);
  assertEquals([rb.end, rb.buf[3], rb.pending], [4, 9, undefined]);
});

Deno.test("ReadBuffer: after a run of small reads an empty buffer shrinks; a full read grows it", async () => {
  const chunks = [filled(200), ...Array.from({ length: 9 }, () => filled(10)), filled(300)];
  const rb = new ReadBuffer(fakeConn(chunks), { initialBytes: 64, maxBytes: 512, smallBytes: 32 });
  const sizes: number[] = [];
  for (;;) {
    const n = await rb.fill();
    if (n === null) break;
    rb.start = rb.end; // consume everything
    sizes.push(rb.buf.length);
  }
  // Grew for the 200 bytes, shrank to 32 after eight small reads, grew again for the 300.
  const shrunk = sizes.indexOf(32);
  assert(Math.max(...sizes.slice(0, shrunk)) >= 128, `grew first: ${sizes}`);
  assert(shrunk > 0, `shrank: ${sizes}`);
  assert(Math.max(...sizes.slice(shrunk)) > 32, `grew again: ${sizes}`);
});
