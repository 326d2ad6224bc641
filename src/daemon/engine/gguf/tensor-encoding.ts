/**
 * Encoding float values into the tensor types the writer supports (F32, F16, Q8_0), and decoding them back
 * (used to check round trips). Layouts follow ggml's reference implementation (`quantize_row_q8_0_ref`).
 */
import { endianness } from "node:os";
import type { GgmlWritableType } from "./gguf-format.js";

/** Values per Q8_0 block. */
export const Q8_0_BLOCK = 32;
/** Bytes per Q8_0 block: one f16 scale and 32 int8 quants. */
export const Q8_0_BLOCK_BYTES = 34;

const LITTLE_ENDIAN_HOST = endianness() === "LE";
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half-precision bits of `value`, rounded to nearest-even (what ggml's FP32_TO_FP16 does). */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: shift the full 24-bit significand down, rounding; a carry correctly yields the smallest normal.
    const shift = 14 - e;
    if (shift > 24) return sign;
    const m = mant | 0x800000;
    const h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return (sign | h) + (rem > half || (rem === half && (h & 1) === 1) ? 1 : 0);
  }
  const h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is exactly the rounded result (up to infinity).
  return h + (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1) ? 1 : 0);
}

/** The float value of IEEE half-precision bits. */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Bytes that `count` values take once encoded as `type`. */
export function encodedByteLength(type: GgmlWritableType, count: number): number {
  switch (type) {
    case "F32":
      return count * 4;
    case "F16":
      return count * 2;
    case "Q8_0":
      return (count / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
  }
}

/**
 * Encodes `values` as `type`, little-endian. For Q8_0 the length must be a multiple of 32 (whole blocks).
 * Always returns a fresh buffer, so callers may reuse `values`.
 */
export function encodeTensorValues(type: GgmlWritableType, values: Float32Array): Uint8Array {
  switch (type) {
    case "F32":
      return encodeF32(values);
    case "F16":
      return encodeF16(values);
    case "Q8_0":
      return encodeQ8_0(values);
  }
}

function encodeF32(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) {
    return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  }
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

function encodeF16(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, float32ToFloat16Bits(values[i]), true);
  return out;
}

function encodeQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) {
    throw new RangeError(`Q8_0 needs whole blocks of ${Q8_0_BLOCK} values, got ${values.length}`);
  }
  const blocks = values.length / Q8_0_BLOCK;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const view = new DataView(out.buffer);
  const quants = new Int8Array(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const start = b * Q8_0_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[start + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    const base = b * Q8_0_BLOCK_BYTES;
    view.setUint16(base, float32ToFloat16Bits(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const v = values[start + j] * id;
      // C's roundf: halves away from zero (Math.round would send -0.5 to 0).
      quants[base + 2 + j] = v >= 0 ? Math.floor(v + 0.5) : -Math.floor(0.5 - v);
    }
  }
  return out;
}

/** Decodes `count` values of `type` from `bytes` (the inverse of {@link encodeTensorValues}, up to rounding). */
export function decodeTensorValues(type: GgmlWritableType, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (type) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case "F16":
      for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(view.getUint16(i * 2, true));
      return out;
    case "Q8_0":
      for (let i = 0; i < count; i++) {
        const base = Math.floor(i / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES;
        out[i] = float16BitsToFloat32(view.getUint16(base, true)) * view.getInt8(base + 2 + (i % Q8_0_BLOCK));
      }
      return out;
  }
}
