/** A generated tiny llama GGUF as bytes in memory (for the Hub stand-in, which serves buffers). */
import { TINY_PRESET, encodeGguf, tinyLlamaSpec } from "../../src/daemon/engine/gguf/index.js";

export function encodeTinyLlama(seed: number): Buffer {
  return Buffer.from(encodeGguf(tinyLlamaSpec({ ...TINY_PRESET, seed })));
}
