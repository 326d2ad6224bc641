/**
 * Reads the header of a GGUF file (metadata and tensor infos, never the tensor data) with bounded, buffered reads,
 * so that a model can be checked before llama.cpp touches it. Every length read from the file is capped against
 * the bytes that remain, so a malformed or truncated file fails fast with an `InvalidModelError` naming the
 * offset and the field, instead of allocating gigabytes or hanging.
 */
import { open, stat } from "node:fs/promises";
import { InvalidModelError } from "../errors.js";
import {
  GGML_MAX_DIMS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_SIZE,
  GGUF_VALUE_TYPE_NAMES,
  alignTo,
  ggmlTypeName,
  tensorByteSize,
  type GgufValueTypeName,
} from "./gguf-format.js";
import type { GgufMetadata, GgufMetadataValue, GgufPlainValue } from "./gguf-metadata.js";

/** One tensor as described by the header. */
export interface GgufTensorInfo {
  readonly name: string;
  /** Innermost-first, as stored. */
  readonly dims: readonly number[];
  /** The ggml type id. */
  readonly type: number;
  /** The ggml type name ("Q8_0"), or `type_<id>` when unknown. */
  readonly typeName: string;
  /** Offset of the data from the start of the data section, as stored. */
  readonly offset: number;
  /** Offset of the data from the start of the file. */
  readonly fileOffset: number;
  /** Bytes of data, or undefined when the type's layout is unknown or the dims do not fit it. */
  readonly byteSize: number | undefined;
  /** Number of values (the product of the dims). */
  readonly elementCount: number;
}

/** The header of a GGUF file. */
export interface GgufFileInfo {
  /** Where it was read from (empty for an in-memory source). */
  readonly path: string;
  readonly fileSize: number;
  readonly version: number;
  readonly alignment: number;
  /** Offset of the tensor infos (the end of the metadata) from the start of the file. */
  readonly metadataEnd: number;
  /** Offset of the end of the tensor infos, before the padding up to the data section. */
  readonly tensorInfoEnd: number;
  /** Offset of the tensor data section from the start of the file. */
  readonly dataOffset: number;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensorInfo[];
}

/** Random access to the bytes of a GGUF file; lets tests read an in-memory file through the same parser. */
export interface GgufByteSource {
  readonly size: number;
  /** Up to `length` bytes at `position` (fewer only at the end of the source). */
  read(position: number, length: number): Promise<Uint8Array>;
}

/** Longest string accepted (chat templates are kilobytes; this only guards against garbage lengths). */
const MAX_STRING_BYTES = 64 * 1024 * 1024;
/** Most items accepted in one array (vocabularies have a few hundred thousand tokens and merges). */
const MAX_ARRAY_ITEMS = 16 * 1024 * 1024;
/** Most tensors / metadata keys accepted (real models have hundreds to a few thousand). */
const MAX_COUNT = 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

/**
 * Reads the GGUF header of the file at `path`. Throws `InvalidModelError` for anything that is not a readable
 * GGUF header (not a regular file, wrong magic, unsupported version, truncated, absurd lengths); a file that cannot
 * be opened at all rejects with the file system's error (ENOENT, EACCES), which is a different failure.
 */
export async function readGgufFile(path: string): Promise<GgufFileInfo> {
  // Refuse FIFOs and devices up front: opening a FIFO blocks, and /dev/zero never ends.
  const stats = await stat(path);
  if (!stats.isFile()) throw new InvalidModelError(`${path} is not a regular file`, undefined, path);
  const file = await open(path, "r");
  try {
    const source: GgufByteSource = {
      size: stats.size,
      async read(position, length) {
        const buffer = Buffer.alloc(length);
        const { bytesRead } = await file.read(buffer, 0, length, position);
        return buffer.subarray(0, bytesRead);
      },
    };
    return await readGgufHeader(source, path);
  } finally {
    await file.close();
  }
}

/** A source over bytes already in memory. */
export function memorySource(bytes: Uint8Array): GgufByteSource {
  return {
    size: bytes.length,
    read: async (position, length) => bytes.subarray(position, position + length),
  };
}

/** Reads the GGUF header from any byte source. `path` is only used in messages. */
export async function readGgufHeader(source: GgufByteSource, path = ""): Promise<GgufFileInfo> {
  const cursor = new Cursor(source, path);
  const label = path ? `${path}: ` : "";
  const fail = (message: string): never => {
    throw new InvalidModelError(`${label}${message}`, [message], path || undefined);
  };

  if (source.size < 4) fail(`not a GGUF file: only ${source.size} bytes`);
  await cursor.need(4, "the magic number");
  const magic = cursor.u32();
  if (magic !== GGUF_MAGIC) fail(`not a GGUF file: ${describeMagic(magic)}`);

  await cursor.need(4, "the version");
  const version = cursor.u32();
  if (version === 1) fail("GGUF version 1 is not supported (llama.cpp reads versions 2 and 3)");
  // A big-endian file has its small version number in the high bytes when read little-endian.
  if ((version & 0xffff) === 0 && version !== 0) fail("big-endian GGUF files are not supported");
  if (version !== 2 && version !== 3) fail(`unsupported GGUF version ${version} (expected 2 or 3)`);

  await cursor.need(16, "the tensor and metadata counts");
  const tensorCount = cursor.count(cursor.u64(), "tensor count", 24);
  const kvCount = cursor.count(cursor.u64(), "metadata key count", 13);

  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await cursor.string(`metadata key #${i}`);
    if (metadata.has(key)) fail(`duplicate metadata key "${key}"`);
    await cursor.need(4, `the type of metadata key "${key}"`);
    const typeName = cursor.valueType(cursor.u32(), key);
    metadata.set(key, await readValue(cursor, typeName, key));
  }

  const metadataEnd = cursor.position;
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const alignmentEntry = metadata.get("general.alignment");
  if (alignmentEntry) {
    const value = alignmentEntry.value;
    if (alignmentEntry.type !== "uint32" || typeof value !== "number" || value === 0 || (value & (value - 1)) !== 0) {
      fail(`general.alignment must be a power-of-two uint32, got ${alignmentEntry.type} ${String(value)}`);
    }
    alignment = value as number;
  }

  const rawTensors: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = await cursor.string(`the name of tensor #${i}`);
    await cursor.need(4, `the dimension count of tensor "${name}"`);
    const nDims = cursor.u32();
    if (nDims > GGML_MAX_DIMS) fail(`tensor "${name}" has ${nDims} dimensions (at most ${GGML_MAX_DIMS})`);
    await cursor.need(8 * nDims + 12, `the shape, type and offset of tensor "${name}"`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(cursor.safeNumber(cursor.u64(), `dimension ${d} of tensor "${name}"`));
    const type = cursor.u32();
    const offset = cursor.safeNumber(cursor.u64(), `the data offset of tensor "${name}"`);
    rawTensors.push({ name, dims, type, offset });
  }

  const tensorInfoEnd = cursor.position;
  const dataOffset = alignTo(tensorInfoEnd, alignment);
  const tensors: GgufTensorInfo[] = rawTensors.map((t) => ({
    ...t,
    typeName: ggmlTypeName(t.type),
    fileOffset: dataOffset + t.offset,
    byteSize: tensorByteSize(t.type, t.dims),
    elementCount: t.dims.reduce((a, b) => a * b, 1),
  }));
  return { path, fileSize: source.size, version, alignment, metadataEnd, tensorInfoEnd, dataOffset, metadata, tensors };
}

async function readValue(cursor: Cursor, type: GgufValueTypeName, key: string): Promise<GgufMetadataValue> {
  if (type !== "array") return { type, value: await readScalar(cursor, type, key) } as GgufMetadataValue;
  await cursor.need(12, `the array header of "${key}"`);
  const itemType = cursor.valueType(cursor.u32(), key);
  const value = await readArrayItems(cursor, itemType, key);
  return { type: "array", itemType, value };
}

async function readArrayItems(cursor: Cursor, itemType: GgufValueTypeName, key: string): Promise<GgufPlainValue[]> {
  const minItemSize = GGUF_SCALAR_SIZE[itemType] ?? (itemType === "string" ? 8 : 12);
  const length = cursor.count(cursor.u64(), `the length of array "${key}"`, minItemSize, MAX_ARRAY_ITEMS);
  const items: GgufPlainValue[] = new Array(length);
  const fixedSize = GGUF_SCALAR_SIZE[itemType];
  if (fixedSize !== undefined) {
    // Fixed-size items: one buffered read per batch rather than one await per item.
    const perBatch = Math.max(1, Math.floor(READ_CHUNK / fixedSize));
    for (let i = 0; i < length; ) {
      const batch = Math.min(perBatch, length - i);
      await cursor.need(batch * fixedSize, `array "${key}"`);
      for (const end = i + batch; i < end; i++) items[i] = cursor.scalar(itemType);
    }
    return items;
  }
  for (let i = 0; i < length; i++) {
    if (itemType === "string") items[i] = await cursor.string(`item ${i} of array "${key}"`);
    else {
      await cursor.need(12, `item ${i} of array "${key}"`);
      const innerType = cursor.valueType(cursor.u32(), key);
      items[i] = await readArrayItems(cursor, innerType, key);
    }
  }
  return items;
}

async function readScalar(cursor: Cursor, type: GgufValueTypeName, key: string): Promise<GgufPlainValue> {
  if (type === "string") return cursor.string(`the value of "${key}"`);
  await cursor.need(GGUF_SCALAR_SIZE[type] ?? 0, `the value of "${key}"`);
  return cursor.scalar(type);
}

/** Older llama.cpp formats, named when met (they need converting); any other file's bytes are not echoed back. */
const KNOWN_MAGICS = new Set(["GGML", "ggml", "lmgg", "ggjt", "tjgg", "ggla", "algg", "ggmf", "fmgg"]);

/**
 * What the first four bytes say. Only known model formats are quoted: an import names a file on the daemon's machine,
 * and repeating the start of any file (`/etc/shadow` begins "root") would show a key holder the start of any file the
 * daemon can read.
 */
function describeMagic(magic: number): string {
  const text = String.fromCharCode(magic & 0xff, (magic >>> 8) & 0xff, (magic >>> 16) & 0xff, magic >>> 24);
  return KNOWN_MAGICS.has(text) ? `magic is ${JSON.stringify(text)}, expected "GGUF" (an older llama.cpp format: convert it)` : `it does not start with "GGUF"`;
}

/** A read position over a byte source with a window buffer; every read is bounds-checked. */
class Cursor {
  position = 0;
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly source: GgufByteSource,
    private readonly path: string,
  ) {}

  private fail(message: string): never {
    throw new InvalidModelError(`${this.path ? `${this.path}: ` : ""}${message}`, [message], this.path || undefined);
  }

  /** Makes `n` bytes at the current position readable, or fails naming `what` was being read. */
  async need(n: number, what: string): Promise<void> {
    const offsetInWindow = this.position - this.windowStart;
    if (offsetInWindow >= 0 && offsetInWindow + n <= this.window.length) return;
    if (this.position + n > this.source.size) {
      const at = this.position;
      const size = this.source.size;
      this.fail(`file is truncated: ${what} needs ${n} bytes at offset ${at}, but the file has ${size} bytes`);
    }
    const length = Math.min(Math.max(n, READ_CHUNK), this.source.size - this.position);
    const bytes = await this.source.read(this.position, length);
    if (bytes.length < n) this.fail(`file is truncated: could not read ${what} at offset ${this.position}`);
    this.window = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    this.windowStart = this.position;
  }

  private take(n: number): number {
    const at = this.position - this.windowStart;
    this.position += n;
    return at;
  }

  u32(): number {
    return this.window.readUInt32LE(this.take(4));
  }

  u64(): bigint {
    return this.window.readBigUInt64LE(this.take(8));
  }

  /** A fixed-size scalar; the caller has already called `need`. */
  scalar(type: GgufValueTypeName): GgufPlainValue {
    const w = this.window;
    switch (type) {
      case "uint8": return w.readUInt8(this.take(1));
      case "int8": return w.readInt8(this.take(1));
      case "uint16": return w.readUInt16LE(this.take(2));
      case "int16": return w.readInt16LE(this.take(2));
      case "uint32": return w.readUInt32LE(this.take(4));
      case "int32": return w.readInt32LE(this.take(4));
      case "float32": return w.readFloatLE(this.take(4));
      case "float64": return w.readDoubleLE(this.take(8));
      case "bool": return w.readUInt8(this.take(1)) !== 0;
      case "uint64": return w.readBigUInt64LE(this.take(8));
      case "int64": return w.readBigInt64LE(this.take(8));
      default: throw new Error(`not a fixed-size type: ${type}`);
    }
  }

  /** A GGUF string, its length capped by the bytes left in the file. */
  async string(what: string): Promise<string> {
    await this.need(8, `the length of ${what}`);
    const start = this.position;
    const length = this.u64();
    const left = this.source.size - this.position;
    if (length > BigInt(Math.min(left, MAX_STRING_BYTES))) {
      const claim = `${what} claims ${length} bytes at offset ${start}`;
      this.fail(
        length > BigInt(left)
          ? `file is truncated or corrupt: ${claim}, past the end of the file (${this.source.size} bytes)`
          : `${claim}, more than the ${MAX_STRING_BYTES} accepted`,
      );
    }
    const n = Number(length);
    await this.need(n, what);
    const at = this.take(n);
    return this.window.toString("utf8", at, at + n);
  }

  /** A count of items of at least `minItemSize` bytes each, capped by the bytes left and by `max`. */
  count(value: bigint, what: string, minItemSize: number, max = MAX_COUNT): number {
    const left = this.source.size - this.position;
    if (value * BigInt(minItemSize) > BigInt(left)) {
      this.fail(`file is truncated or corrupt: ${what} is ${value}, more than the ${left} bytes left can hold`);
    }
    if (value > BigInt(max)) this.fail(`${what} is ${value}, more than the ${max} accepted`);
    return Number(value);
  }

  safeNumber(value: bigint, what: string): number {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${value}, too large`);
    return Number(value);
  }

  valueType(id: number, key: string): GgufValueTypeName {
    const name = GGUF_VALUE_TYPE_NAMES[id];
    if (name === undefined) this.fail(`metadata "${key}" has unknown value type ${id}`);
    return name;
  }
}
