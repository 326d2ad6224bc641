/**
 * GGUF files: read and validate headers before llama.cpp sees them, summarise them for `show`, and write
 * random-weight llama models (the built-in `mlxm-tiny`, test and benchmark models).
 */
export {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  TokenType,
  ggmlTypeName,
  tensorByteSize,
  type GgmlWritableType,
  type GgufValueTypeName,
} from "./gguf-format.js";
export {
  ggufValue,
  metadataArray,
  metadataBool,
  metadataNumber,
  metadataString,
  type GgufMetadata,
  type GgufMetadataValue,
  type GgufPlainValue,
} from "./gguf-metadata.js";
export { encodeGguf, ggufChunks, writeGguf, type GgufSpec, type GgufTensorSpec } from "./gguf-writer.js";
export {
  memorySource,
  readGgufFile,
  readGgufHeader,
  type GgufByteSource,
  type GgufFileInfo,
  type GgufTensorInfo,
} from "./gguf-reader.js";
export { assertValidGguf, readValidGgufFile, validateGguf } from "./validate.js";
export { formatParameterCount, summarizeGguf, type GgufSummary } from "./summary.js";
export {
  BENCH_60M_PRESET,
  CHATML_TEMPLATE,
  INFILL_PIECES,
  REASONING_CHATML_TEMPLATE,
  TINY_PRESET,
  buildTinyVocab,
  generateTinyLlama,
  tinyLlamaParameterCount,
  tinyLlamaSpec,
  writeTinyLlama,
  type TinyLlamaOptions,
  type TinyToken,
} from "./tiny-model.js";
export { decodeTensorValues, encodeTensorValues } from "./tensor-encoding.js";
