/**
 * Reads a possibly compressed body as UTF-8 text under a size cap that applies to the
 * *decoded* size, so a small compressed body that inflates past the cap (a "zip bomb") is
 * refused after at most `maxBytes` of output, never decompressed into memory.
 *
 * @example
 * ```ts
 * import { readDecodedText } from "./decode_body.ts";
 * const body = new Blob(["hello"]).stream();
 * await readDecodedText(body, null, 1024); // "hello"
 * ```
 */
import { OrygateError } from "../errors.ts";

const FORMATS: Record<string, CompressionFormat> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
  br: "brotli" as CompressionFormat,
};

const SLICE_BYTES = 4096;

function slices(size: number): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>(
    {
      transform(chunk, controller) {
        for (let i = 0; i < chunk.byteLength; i += size) {
          controller.enqueue(chunk.subarray(i, Math.min(i + size, chunk.byteLength)));
        }
      },
    },
    undefined,
    { highWaterMark: 0 },
  );
}

/** Content codings {@linkcode readDecodedText} can undo. */
export const DECODABLE_ENCODINGS: readonly string[] = ["gzip", "deflate", "br"];

/** Whether a `Content-Encoding` value is one this module decodes (or no coding at all). */
export function canDecode(contentEncoding: string | null): boolean {
  return codings(contentEncoding).every((c) => c in FORMATS);
}

function codings(contentEncoding: string | null): string[] {
  return (contentEncoding ?? "").split(",").map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}

/** Decodes `body` per `contentEncoding` and returns it as text; throws ERR_BODY_TOO_LARGE. */
export async function readDecodedText(
  body: Uint8Array | ReadableStream<Uint8Array>,
  contentEncoding: string | null,
  maxBytes: number,
): Promise<string> {
  const decodings = codings(contentEncoding);
  if (body instanceof Uint8Array && decodings.length === 0) {
    if (body.byteLength > maxBytes) throw tooLarge(maxBytes);
    return new TextDecoder().decode(body);
  }
  let stream = body instanceof Uint8Array ? ReadableStream.from([body]) : body;
  // Codings are listed in the order they were applied: undo them from last to first. Input
  // goes to each decoder in small slices: 4 KiB of deflated zeros inflate to ~4 MiB, so the
  // cap below is checked after every few MiB, not after one 64 KiB chunk became 64 MiB.
  for (const coding of decodings.reverse()) {
    stream = stream.pipeThrough(slices(SLICE_BYTES)).pipeThrough(
      new DecompressionStream(FORMATS[coding]) as unknown as TransformStream<
        Uint8Array,
        Uint8Array
      >,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

function tooLarge(maxBytes: number): OrygateError {
  return new OrygateError(
    "ERR_BODY_TOO_LARGE",
    `the decoded body is larger than the ${maxBytes}-byte rewrite limit (--max-rewrite-size)`,
  );
}
