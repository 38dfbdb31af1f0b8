import { directPipe, registerDirectPipe } from "../../src/http1/direct_pipe.ts";
import { SessionBody } from "../../src/proxy/session_body.ts";
import { assert, assertEquals } from "../_support/assert.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upstream body the test feeds by hand; it records its cancellation. */
function upstreamBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const state = { cancelled: undefined as unknown, isCancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: (reason) => {
      state.isCancelled = true;
      state.cancelled = reason;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    send: (s: string) => controller.enqueue(bytes(s)),
    close: () => controller.close(),
    state,
  };
}

Deno.test("SessionBody: read as a stream, end() finishes it at once and cancels the upstream", async () => {
  const up = upstreamBody();
  const body = new SessionBody(up.stream);
  let closed = 0;
  body.onClosed = () => closed++;
  const reader = body.stream.getReader();
  up.send("data: 1\n\n");
  assertEquals(text((await reader.read()).value!), "data: 1\n\n");
  const waiting = reader.read(); // the upstream has nothing more yet
  await sleep(5);
  body.end();
  assertEquals((await waiting).done, true);
  assert(up.state.isCancelled, "the upstream's body is cancelled");
  assertEquals((up.state.cancelled as DOMException).name, "AbortError");
  assertEquals(closed, 1);
  body.end();
  assertEquals(closed, 1);
});

Deno.test("SessionBody: a body that ends by itself is passed whole and stops being followed", async () => {
  const up = upstreamBody();
  const body = new SessionBody(up.stream);
  let closed = 0;
  body.onClosed = () => closed++;
  up.send("a");
  up.send("b");
  up.close();
  assertEquals(await new Response(body.stream).text(), "ab");
  assertEquals(closed, 1);
  body.end(); // too late: nothing happens
  assertEquals(up.state.isCancelled, false);
});

Deno.test("SessionBody: cancelling it cancels the upstream and stops following", async () => {
  const up = upstreamBody();
  const body = new SessionBody(up.stream);
  let closed = 0;
  body.onClosed = () => closed++;
  await body.stream.cancel("client gone");
  assertEquals(up.state.cancelled, "client gone");
  assertEquals(closed, 1);
});

Deno.test("SessionBody: the direct pipe is kept, and end() waits for the write under way", async () => {
  const up = upstreamBody();
  // The upstream client offers a direct pipe: chunks handed to `write` one at a time.
  const chunks: string[] = ["one", "two", "three"];
  let pipeWrites = 0;
  registerDirectPipe(up.stream, async (write) => {
    for (const c of chunks) {
      pipeWrites++;
      await write(bytes(c));
      await sleep(1);
    }
    await new Promise(() => {}); // then waits for more, as an event stream does
  });
  const body = new SessionBody(up.stream);
  let closed = 0;
  body.onClosed = () => closed++;
  const pipe = directPipe(body.stream);
  assert(pipe !== undefined, "the server still finds a direct pipe");
  const written: string[] = [];
  let writing = false;
  let wroteAfterEnd = false;
  let ended = false;
  const piping = pipe(async (chunk) => {
    if (ended) wroteAfterEnd = true;
    writing = true;
    const s = text(chunk);
    // The second write is slow: the session ends while it is under way.
    if (s === "two") {
      body.end();
      ended = true;
      await sleep(20);
    }
    written.push(s);
    writing = false;
  });
  await piping;
  assertEquals(writing, false, "the pipe returned only after the write under way");
  assertEquals(written, ["one", "two"]);
  assertEquals(wroteAfterEnd, false);
  assert(up.state.isCancelled, "the upstream is cancelled after that write");
  await sleep(10);
  assertEquals(pipeWrites, 3, "the upstream tried its next chunk");
  assertEquals(written, ["one", "two"], "and it was refused");
  assertEquals(closed, 1);
});

Deno.test("SessionBody: ended before anyone read it, it is empty", async () => {
  const up = upstreamBody();
  registerDirectPipe(up.stream, () => new Promise(() => {}));
  const piped = new SessionBody(up.stream);
  piped.end();
  const written: Uint8Array[] = [];
  await directPipe(piped.stream)!((c) => Promise.resolve(void written.push(c)));
  assertEquals(written, []);
  assert(up.state.isCancelled);

  const up2 = upstreamBody();
  const read = new SessionBody(up2.stream);
  read.end();
  assertEquals(await new Response(read.stream).text(), "");
  assert(up2.state.isCancelled);
});
