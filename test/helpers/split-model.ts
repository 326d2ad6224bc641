/**
 * A generated llama model written as a real split GGUF, as llama.cpp's gguf-split makes them: every part carries
 * `split.no`, `split.count` and `split.tensors.count`; the first part also carries all the model's metadata.
 */
import { TINY_PRESET, encodeGguf, ggufValue, tinyLlamaSpec, type TinyLlamaOptions } from "../../src/daemon/engine/gguf/index.js";

export function splitTinyLlama(parts: number, options: TinyLlamaOptions = {}): Buffer[] {
  const spec = tinyLlamaSpec({ ...TINY_PRESET, ...options });
  const per = Math.ceil(spec.tensors.length / parts);
  const split = (no: number) => ({
    "split.no": ggufValue.uint16(no),
    "split.count": ggufValue.uint16(parts),
    "split.tensors.count": ggufValue.int32(spec.tensors.length),
  });
  return Array.from({ length: parts }, (_, i) =>
    Buffer.from(
      encodeGguf({
        metadata: i === 0 ? { ...spec.metadata, ...split(i) } : split(i),
        tensors: spec.tensors.slice(i * per, (i + 1) * per),
      }),
    ),
  );
}
