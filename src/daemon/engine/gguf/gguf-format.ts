/**
 * Constants of the GGUF container format (v3) and the ggml tensor type table: what the reader, the writer,
 * the validator and the summary agree on. Reference: ggml's `docs/gguf.md` and `ggml-common.h`.
 */

/** "GGUF" read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
/** The version this module writes. The reader also accepts v2, whose layout is identical for little-endian files. */
export const GGUF_VERSION = 3;
/** Alignment of the tensor data section when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml tensors have at most four dimensions; llama.cpp rejects a tensor info with more. */
export const GGML_MAX_DIMS = 4;

/** GGUF metadata value type ids, as stored in the file. */
export const GgufValueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

/** The name of a GGUF metadata value type. */
export type GgufValueTypeName = keyof typeof GgufValueType;

/** The value type names indexed by their id. */
export const GGUF_VALUE_TYPE_NAMES: readonly GgufValueTypeName[] = Object.entries(GgufValueType)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name as GgufValueTypeName);

/** Bytes taken by one scalar of each fixed-size value type (strings and arrays are variable). */
export const GGUF_SCALAR_SIZE: Readonly<Partial<Record<GgufValueTypeName, number>>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

/** How a ggml tensor type is laid out: `blockSize` values stored in `typeSize` bytes. */
export interface GgmlTypeTraits {
  readonly id: number;
  readonly name: string;
  /** Values per block; 0 when this build of the table does not know the layout. */
  readonly blockSize: number;
  /** Bytes per block; 0 when unknown. */
  readonly typeSize: number;
  /** Ids that ggml has retired: llama.cpp refuses files that use them. */
  readonly removed?: boolean;
}

const K = 256; // QK_K, the super-block size of the k-quants and i-quants
const TYPES: GgmlTypeTraits[] = [
  { id: 0, name: "F32", blockSize: 1, typeSize: 4 },
  { id: 1, name: "F16", blockSize: 1, typeSize: 2 },
  { id: 2, name: "Q4_0", blockSize: 32, typeSize: 18 },
  { id: 3, name: "Q4_1", blockSize: 32, typeSize: 20 },
  { id: 4, name: "Q4_2", blockSize: 0, typeSize: 0, removed: true },
  { id: 5, name: "Q4_3", blockSize: 0, typeSize: 0, removed: true },
  { id: 6, name: "Q5_0", blockSize: 32, typeSize: 22 },
  { id: 7, name: "Q5_1", blockSize: 32, typeSize: 24 },
  { id: 8, name: "Q8_0", blockSize: 32, typeSize: 34 },
  { id: 9, name: "Q8_1", blockSize: 32, typeSize: 36 },
  { id: 10, name: "Q2_K", blockSize: K, typeSize: 84 },
  { id: 11, name: "Q3_K", blockSize: K, typeSize: 110 },
  { id: 12, name: "Q4_K", blockSize: K, typeSize: 144 },
  { id: 13, name: "Q5_K", blockSize: K, typeSize: 176 },
  { id: 14, name: "Q6_K", blockSize: K, typeSize: 210 },
  { id: 15, name: "Q8_K", blockSize: K, typeSize: 292 },
  { id: 16, name: "IQ2_XXS", blockSize: K, typeSize: 66 },
  { id: 17, name: "IQ2_XS", blockSize: K, typeSize: 74 },
  { id: 18, name: "IQ3_XXS", blockSize: K, typeSize: 98 },
  { id: 19, name: "IQ1_S", blockSize: K, typeSize: 50 },
  { id: 20, name: "IQ4_NL", blockSize: 32, typeSize: 18 },
  { id: 21, name: "IQ3_S", blockSize: K, typeSize: 110 },
  { id: 22, name: "IQ2_S", blockSize: K, typeSize: 82 },
  { id: 23, name: "IQ4_XS", blockSize: K, typeSize: 136 },
  { id: 24, name: "I8", blockSize: 1, typeSize: 1 },
  { id: 25, name: "I16", blockSize: 1, typeSize: 2 },
  { id: 26, name: "I32", blockSize: 1, typeSize: 4 },
  { id: 27, name: "I64", blockSize: 1, typeSize: 8 },
  { id: 28, name: "F64", blockSize: 1, typeSize: 8 },
  { id: 29, name: "IQ1_M", blockSize: K, typeSize: 56 },
  { id: 30, name: "BF16", blockSize: 1, typeSize: 2 },
  { id: 31, name: "Q4_0_4_4", blockSize: 0, typeSize: 0, removed: true },
  { id: 32, name: "Q4_0_4_8", blockSize: 0, typeSize: 0, removed: true },
  { id: 33, name: "Q4_0_8_8", blockSize: 0, typeSize: 0, removed: true },
  { id: 34, name: "TQ1_0", blockSize: K, typeSize: 54 },
  { id: 35, name: "TQ2_0", blockSize: K, typeSize: 66 },
  { id: 36, name: "IQ4_NL_4_4", blockSize: 0, typeSize: 0, removed: true },
  { id: 37, name: "IQ4_NL_4_8", blockSize: 0, typeSize: 0, removed: true },
  { id: 38, name: "IQ4_NL_8_8", blockSize: 0, typeSize: 0, removed: true },
  { id: 39, name: "MXFP4", blockSize: 32, typeSize: 17 },
  // Newer than the layouts this table knows; node-llama-cpp 3.21.1's ggml accepts them, so never reject them.
  { id: 40, name: "NVFP4", blockSize: 0, typeSize: 0 },
  { id: 41, name: "Q1_0", blockSize: 0, typeSize: 0 },
  { id: 42, name: "Q2_0", blockSize: 0, typeSize: 0 },
];

/** The traits of a ggml type id, or undefined for an id ggml does not define. */
export function ggmlTypeTraits(id: number): GgmlTypeTraits | undefined {
  return TYPES[id];
}

/** The name of a ggml type id ("Q8_0"), or `type_<id>` for an unknown id. */
export function ggmlTypeName(id: number): string {
  return TYPES[id]?.name ?? `type_${id}`;
}

/** The tensor types the writer can encode. */
export type GgmlWritableType = "F32" | "F16" | "Q8_0";

/** Type ids of the writable tensor types. */
export const GGML_TYPE_ID: Readonly<Record<GgmlWritableType, number>> = { F32: 0, F16: 1, Q8_0: 8 };

/**
 * Bytes a tensor of `type` with dimensions `dims` takes, or undefined when the type's layout is unknown or the
 * innermost dimension is not a whole number of blocks (ggml requires rows to be whole blocks).
 */
export function tensorByteSize(type: number, dims: readonly number[]): number | undefined {
  const traits = TYPES[type];
  if (!traits || traits.blockSize === 0) return undefined;
  const rowLength = dims[0] ?? 1;
  if (rowLength % traits.blockSize !== 0) return undefined;
  let rows = 1;
  for (let i = 1; i < dims.length; i++) rows *= dims[i];
  return (rowLength / traits.blockSize) * traits.typeSize * rows;
}

/** `offset` rounded up to a multiple of `alignment`. */
export function alignTo(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

/** `general.file_type` values (llama_ftype) and the names quantisations are known by ("Q4_K_M"). */
export const GGUF_FILE_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  4: "Q4_1_SOME_F16",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4_MOE",
  39: "NVFP4",
  40: "Q1_0",
  41: "Q2_0",
};

/** llama.cpp's token types (`tokenizer.ggml.token_type`). */
export const TokenType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;
