/**
 * GGUF metadata values: the typed shape the writer takes and the reader returns, constructors for writing
 * them, and accessors that read a key as the type a caller needs.
 */
import type { GgufValueTypeName } from "./gguf-format.js";

/** Value types carried as a JavaScript number. */
export type GgufNumberTypeName = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
/** Value types carried as a bigint, since they may exceed 2^53. */
export type GgufBigIntTypeName = "uint64" | "int64";

/** An array item as JavaScript sees it; nested arrays lose their inner type tag. */
export type GgufPlainValue = number | bigint | boolean | string | readonly GgufPlainValue[];

/** One metadata value with its GGUF type, so that a write-read round trip is exact. */
export type GgufMetadataValue =
  | { readonly type: GgufNumberTypeName; readonly value: number }
  | { readonly type: GgufBigIntTypeName; readonly value: bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "array"; readonly itemType: GgufValueTypeName; readonly value: readonly GgufPlainValue[] };

/** Metadata as read from a file. A Map, because keys come from the file and may be anything ("__proto__"). */
export type GgufMetadata = ReadonlyMap<string, GgufMetadataValue>;

/** Constructors for metadata values, e.g. `ggufValue.uint32(2048)`. */
export const ggufValue = {
  uint8: (value: number): GgufMetadataValue => ({ type: "uint8", value }),
  int8: (value: number): GgufMetadataValue => ({ type: "int8", value }),
  uint16: (value: number): GgufMetadataValue => ({ type: "uint16", value }),
  int16: (value: number): GgufMetadataValue => ({ type: "int16", value }),
  uint32: (value: number): GgufMetadataValue => ({ type: "uint32", value }),
  int32: (value: number): GgufMetadataValue => ({ type: "int32", value }),
  float32: (value: number): GgufMetadataValue => ({ type: "float32", value }),
  float64: (value: number): GgufMetadataValue => ({ type: "float64", value }),
  uint64: (value: bigint | number): GgufMetadataValue => ({ type: "uint64", value: BigInt(value) }),
  int64: (value: bigint | number): GgufMetadataValue => ({ type: "int64", value: BigInt(value) }),
  bool: (value: boolean): GgufMetadataValue => ({ type: "bool", value }),
  string: (value: string): GgufMetadataValue => ({ type: "string", value }),
  stringArray: (value: readonly string[]): GgufMetadataValue => ({ type: "array", itemType: "string", value }),
  int32Array: (value: readonly number[]): GgufMetadataValue => ({ type: "array", itemType: "int32", value }),
  float32Array: (value: readonly number[]): GgufMetadataValue => ({ type: "array", itemType: "float32", value }),
};

/** A string value, or undefined when the key is absent or not a string. */
export function metadataString(metadata: GgufMetadata, key: string): string | undefined {
  const entry = metadata.get(key);
  return entry?.type === "string" ? entry.value : undefined;
}

/**
 * A numeric value as a number (64-bit integers converted), or undefined when the key is absent or not numeric.
 * Booleans are not numbers here: llama.cpp would reject a bool where it expects a count.
 */
export function metadataNumber(metadata: GgufMetadata, key: string): number | undefined {
  const entry = metadata.get(key);
  if (!entry) return undefined;
  if (typeof entry.value === "number") return entry.value;
  if (typeof entry.value === "bigint") return Number(entry.value);
  return undefined;
}

/** A boolean value, or undefined when the key is absent or not a bool. */
export function metadataBool(metadata: GgufMetadata, key: string): boolean | undefined {
  const entry = metadata.get(key);
  return entry?.type === "bool" ? entry.value : undefined;
}

/** An array value with its item type, or undefined when the key is absent or not an array. */
export function metadataArray(
  metadata: GgufMetadata,
  key: string,
): { itemType: GgufValueTypeName; value: readonly GgufPlainValue[] } | undefined {
  const entry = metadata.get(key);
  return entry?.type === "array" ? { itemType: entry.itemType, value: entry.value } : undefined;
}
