/** Sends raw bytes to a server and collects everything it answers until it closes or goes quiet. */
export async function rawRequest(port: number, text: string, quietMs = 1500): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(text));
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const timer = new Promise<null>((r) => setTimeout(() => r(null), quietMs));
      const n = await Promise.race([conn.read(buf), timer]);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch {
    // reset by peer: what was read so far is the answer
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
  return new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
}
