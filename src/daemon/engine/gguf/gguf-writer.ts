/**
 * Writes GGUF v3 files: metadata, tensor infos, then 32-byte-aligned tensor data. Tensor data may come as
 * chunks from a generator, so a model much larger than the memory one wants to spend on it streams straight
 * to disk (the 60M-parameter benchmark model never exists in memory as a whole).
 */
import { randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  GGML_MAX_DIMS,
  GGML_TYPE_ID,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VERSION,
  GgufValueType,
  alignTo,
  type GgmlWritableType,
  type GgufValueTypeName,
} from "./gguf-format.js";
import type { GgufMetadataValue, GgufPlainValue } from "./gguf-metadata.js";
import { Q8_0_BLOCK, encodeTensorValues, encodedByteLength } from "./tensor-encoding.js";

/** One tensor to write. */
export interface GgufTensorSpec {
  readonly name: string;
  /** Dimensions innermost-first, as GGUF stores them: `token_embd.weight` is `[n_embd, n_vocab]`. */
  readonly dims: readonly number[];
  readonly type: GgmlWritableType;
  /**
   * The values in ggml order (innermost dimension varies fastest): all at once, or a function returning chunks
   * that are encoded and written one by one. For Q8_0 every chunk must hold whole blocks of 32 values.
   * A chunk may be reused by the producer once the next one is requested.
   */
  readonly data: Float32Array | (() => Iterable<Float32Array>);
}

/** Everything that goes into a GGUF file. */
export interface GgufSpec {
  /** Written in insertion order. `general.alignment` is added when absent. */
  readonly metadata: Readonly<Record<string, GgufMetadataValue>>;
  /** Written in this order; their data follows in the same order. */
  readonly tensors: readonly GgufTensorSpec[];
  /** Alignment of the data section and of each tensor in it; a power of two, default 32. */
  readonly alignment?: number;
}

/** Encodes a whole GGUF file in memory. Convenient for small models and tests; use {@link writeGguf} for big ones. */
export function encodeGguf(spec: GgufSpec): Uint8Array {
  return Buffer.concat([...ggufChunks(spec)]);
}

/**
 * Writes a GGUF file to `path` atomically: into a temporary file beside it, renamed into place once complete, so a
 * reader never sees a half-written model. Returns the file size.
 */
export async function writeGguf(path: string, spec: GgufSpec): Promise<{ bytes: number }> {
  const tempPath = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const file = await open(tempPath, "w");
  let bytes = 0;
  try {
    const flushAt = 4 * 1024 * 1024;
    const pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      await file.write(pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes));
      pending.length = 0;
      pendingBytes = 0;
    };
    // Coalesce small chunks (metadata, 1-D tensors, padding) into few large writes.
    for (const chunk of ggufChunks(spec)) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      bytes += chunk.length;
      if (pendingBytes >= flushAt) await flush();
    }
    await flush();
    await file.close();
    await rename(tempPath, path);
  } catch (error) {
    await file.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  return { bytes };
}

/** The bytes of a GGUF file, in order, as a lazy sequence of chunks. Throws on an inconsistent spec. */
export function* ggufChunks(spec: GgufSpec): Generator<Uint8Array> {
  const alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`alignment must be a power of two, got ${alignment}`);
  }
  const metadata = withAlignment(spec.metadata, alignment);
  const layout = layoutTensors(spec.tensors, alignment);

  const header = new ByteWriter();
  header.u32(GGUF_MAGIC);
  header.u32(GGUF_VERSION);
  header.u64(BigInt(spec.tensors.length));
  header.u64(BigInt(Object.keys(metadata).length));
  for (const [key, value] of Object.entries(metadata)) {
    header.string(key);
    writeValue(header, key, value);
  }
  for (const [i, tensor] of spec.tensors.entries()) {
    header.string(tensor.name);
    header.u32(tensor.dims.length);
    for (const dim of tensor.dims) header.u64(BigInt(dim));
    header.u32(GGML_TYPE_ID[tensor.type]);
    header.u64(BigInt(layout[i].offset));
  }
  const headerBytes = header.finish();
  yield headerBytes;
  yield padding(headerBytes.length, alignment);

  for (const [i, tensor] of spec.tensors.entries()) {
    let written = 0;
    const chunks = tensor.data instanceof Float32Array ? [tensor.data] : tensor.data();
    for (const chunk of chunks) {
      if (tensor.type === "Q8_0" && chunk.length % Q8_0_BLOCK !== 0) {
        throw new RangeError(`tensor "${tensor.name}": Q8_0 chunks must hold whole blocks of ${Q8_0_BLOCK} values`);
      }
      written += chunk.length;
      if (written > layout[i].elements) break;
      yield encodeTensorValues(tensor.type, chunk);
    }
    if (written !== layout[i].elements) {
      const dims = tensor.dims.join(", ");
      throw new RangeError(`tensor "${tensor.name}": got ${written} values for dims [${dims}] (${layout[i].elements})`);
    }
    yield padding(layout[i].bytes, alignment);
  }
}

function withAlignment(metadata: GgufSpec["metadata"], alignment: number): Record<string, GgufMetadataValue> {
  const given = metadata["general.alignment"];
  if (given === undefined) return { ...metadata, "general.alignment": { type: "uint32", value: alignment } };
  if (given.type !== "uint32" || given.value !== alignment) {
    throw new RangeError(`general.alignment must be a uint32 equal to the alignment option (${alignment})`);
  }
  return { ...metadata };
}

interface TensorLayout {
  elements: number;
  bytes: number;
  offset: number;
}

/** Checks each tensor and computes where its data goes: consecutive, each start aligned (llama.cpp insists). */
function layoutTensors(tensors: readonly GgufTensorSpec[], alignment: number): TensorLayout[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map((tensor) => {
    if (names.has(tensor.name)) throw new RangeError(`duplicate tensor name "${tensor.name}"`);
    names.add(tensor.name);
    if (tensor.dims.length < 1 || tensor.dims.length > GGML_MAX_DIMS) {
      throw new RangeError(`tensor "${tensor.name}": needs 1 to ${GGML_MAX_DIMS} dims, got ${tensor.dims.length}`);
    }
    if (!tensor.dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new RangeError(`tensor "${tensor.name}": dims must be positive integers, got [${tensor.dims.join(", ")}]`);
    }
    if (tensor.type === "Q8_0" && tensor.dims[0] % Q8_0_BLOCK !== 0) {
      const row = tensor.dims[0];
      throw new RangeError(`tensor "${tensor.name}": Q8_0 rows must be multiples of ${Q8_0_BLOCK}, not ${row}`);
    }
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    const bytes = encodedByteLength(tensor.type, elements);
    const layout = { elements, bytes, offset };
    offset = alignTo(offset + bytes, alignment);
    return layout;
  });
}

function padding(length: number, alignment: number): Uint8Array {
  return new Uint8Array(alignTo(length, alignment) - length);
}

const INTEGER_RANGES: Partial<Record<GgufValueTypeName, [number, number]>> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

function writeValue(out: ByteWriter, key: string, value: GgufMetadataValue): void {
  out.u32(GgufValueType[value.type]);
  if (value.type === "array") {
    if (value.itemType === "array") throw new RangeError(`metadata "${key}": nested arrays are not supported`);
    out.u32(GgufValueType[value.itemType]);
    out.u64(BigInt(value.value.length));
    for (const item of value.value) writeScalar(out, key, value.itemType, item);
    return;
  }
  writeScalar(out, key, value.type, value.value);
}

function writeScalar(out: ByteWriter, key: string, type: GgufValueTypeName, value: GgufPlainValue): void {
  const wrongType = () => new TypeError(`metadata "${key}": ${String(value)} is not a valid ${type}`);
  const range = INTEGER_RANGES[type];
  if (range) {
    const inRange = typeof value === "number" && Number.isInteger(value) && value >= range[0] && value <= range[1];
    if (!inRange) throw wrongType();
  }
  switch (type) {
    case "bool":
      if (typeof value !== "boolean") throw wrongType();
      out.u8(value ? 1 : 0);
      return;
    case "uint8":
      out.u8(value as number);
      return;
    case "int8":
      out.i8(value as number);
      return;
    case "uint16":
      out.u16(value as number);
      return;
    case "int16":
      out.i16(value as number);
      return;
    case "uint32":
      out.u32(value as number);
      return;
    case "int32":
      out.i32(value as number);
      return;
    case "float32":
    case "float64":
      if (typeof value !== "number") throw wrongType();
      if (type === "float32") out.f32(value);
      else out.f64(value);
      return;
    case "uint64":
    case "int64": {
      if (typeof value !== "bigint" && !(typeof value === "number" && Number.isSafeInteger(value))) throw wrongType();
      const big = BigInt(value);
      if (type === "uint64" ? big < 0n || big >= 1n << 64n : big < -(1n << 63n) || big >= 1n << 63n) throw wrongType();
      if (type === "uint64") out.u64(big);
      else out.i64(big);
      return;
    }
    case "string":
      if (typeof value !== "string") throw wrongType();
      out.string(value);
      return;
    case "array":
      throw new RangeError(`metadata "${key}": nested arrays are not supported`);
  }
}

/** A growable little-endian byte buffer for the header. */
class ByteWriter {
  private buffer = Buffer.alloc(64 * 1024);
  private length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n));
      this.buffer.copy(next, 0, 0, this.length);
      this.buffer = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // `reserve` may replace the buffer, so it must run before `this.buffer` is read.
  u8(v: number) { const at = this.reserve(1); this.buffer.writeUInt8(v, at); }
  i8(v: number) { const at = this.reserve(1); this.buffer.writeInt8(v, at); }
  u16(v: number) { const at = this.reserve(2); this.buffer.writeUInt16LE(v, at); }
  i16(v: number) { const at = this.reserve(2); this.buffer.writeInt16LE(v, at); }
  u32(v: number) { const at = this.reserve(4); this.buffer.writeUInt32LE(v, at); }
  i32(v: number) { const at = this.reserve(4); this.buffer.writeInt32LE(v, at); }
  f32(v: number) { const at = this.reserve(4); this.buffer.writeFloatLE(v, at); }
  f64(v: number) { const at = this.reserve(8); this.buffer.writeDoubleLE(v, at); }
  u64(v: bigint) { const at = this.reserve(8); this.buffer.writeBigUInt64LE(v, at); }
  i64(v: bigint) { const at = this.reserve(8); this.buffer.writeBigInt64LE(v, at); }

  /** GGUF strings: a uint64 byte length, then UTF-8 without a terminator. */
  string(v: string) {
    const byteLength = Buffer.byteLength(v, "utf8");
    this.u64(BigInt(byteLength));
    const at = this.reserve(byteLength);
    this.buffer.write(v, at, byteLength, "utf8");
  }

  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}
