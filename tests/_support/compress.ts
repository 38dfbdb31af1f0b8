/** Test helper: compresses text into a fresh Uint8Array (Response bodies do not take Buffers). */
export function compressed(fn: (s: string) => Uint8Array, s: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(fn(s));
}
