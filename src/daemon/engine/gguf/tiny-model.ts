/**
 * Random-weight `llama` models, deterministic from a seed: the built-in `mlxm-tiny` (no download) and every model
 * the tests and benchmarks use. They load and generate in llama.cpp like a real model; the text is noise.
 */
import { TokenType, type GgmlWritableType } from "./gguf-format.js";
import { ggufValue, type GgufMetadataValue } from "./gguf-metadata.js";
import { encodeGguf, writeGguf, type GgufSpec, type GgufTensorSpec } from "./gguf-writer.js";

/** One vocabulary entry. */
export interface TinyToken {
  readonly piece: string;
  readonly type: keyof typeof TokenType;
  readonly score: number;
}

/** What to generate. Every field has a default; the presets below fill the usual combinations. */
export interface TinyLlamaOptions {
  /** PRNG seed, a uint32; the same options and seed give byte-identical files. Default 1. */
  readonly seed?: number;
  /** `general.name`. Default "mlxm-tiny". */
  readonly name?: string;
  /** The vocabulary; default {@link buildTinyVocab}(vocabSize). Must contain `<unk>`, `<s>` and `</s>`. */
  readonly vocab?: readonly TinyToken[];
  /** Pads the default vocabulary with extra word pieces up to this many tokens. */
  readonly vocabSize?: number;
  /** Shape: blocks, embedding width, attention heads, KV heads, feed-forward width. Defaults from TINY_PRESET. */
  readonly nLayers?: number;
  readonly nEmbd?: number;
  readonly nHead?: number;
  /** Defaults to `nHead` when that is given (no grouped-query attention), else to TINY_PRESET's. */
  readonly nHeadKv?: number;
  readonly nFf?: number;
  /** `llama.context_length`. Default 2048. */
  readonly contextLength?: number;
  /** Type of the 2-D weight tensors; norms stay F32 as llama.cpp expects. Default F32. */
  readonly tensorType?: GgmlWritableType;
  /** `tokenizer.chat_template`; default {@link CHATML_TEMPLATE}. */
  readonly chatTemplate?: string;
  /** Standard deviation of the logits of ordinary tokens (see `outputRows`). Default 8. */
  readonly logitSpread?: number;
  /**
   * Give the vocabulary fill-in-the-middle tokens, as code models have: {@link INFILL_PIECES} appended as control
   * tokens (unless present) and named in `tokenizer.ggml.fim_{pre,suf,mid,pad}_token_id`. Default false.
   */
  readonly infill?: boolean;
}

/** The smallest useful model (~140K parameters, 0.6 MB in F32): loads in milliseconds. Used by tests and the built-in `mlxm-tiny`. */
export const TINY_PRESET = {
  name: "mlxm-tiny",
  nLayers: 2,
  nEmbd: 64,
  nHead: 4,
  nHeadKv: 2,
  nFf: 128,
  contextLength: 2048,
  tensorType: "F32",
} as const satisfies TinyLlamaOptions;

/** A ~60M-parameter model (32000 tokens, 8 layers, 512 wide, Q8_0) for benchmarks that need real compute per token. */
export const BENCH_60M_PRESET = {
  name: "mlxm-bench-60m",
  vocabSize: 32000,
  nLayers: 8,
  nEmbd: 512,
  nHead: 8,
  nHeadKv: 8,
  nFf: 1536,
  // Room for the 10-turn conversation benchmark behind a 1,500-token system prompt (issue #14).
  contextLength: 4096,
  tensorType: "Q8_0",
} as const satisfies TinyLlamaOptions;

/** The ChatML template (Qwen's and many others'); node-llama-cpp recognises it as its ChatML wrapper. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * ChatML with a reasoning section, as Qwen3 and DeepSeek-R1 templates have: past reasoning is rendered inside
 * `<think>…</think>`, and the generation prompt opens one, so the model reasons first. node-llama-cpp detects the
 * section from the template, which is how tests get a "reasoning model".
 */
export const REASONING_CHATML_TEMPLATE =
  "{% for message in messages %}" +
  "{{'<|im_start|>' + message['role'] + '\\n'}}" +
  "{% if message['role'] == 'assistant' and message['reasoning_content'] %}" +
  "{{'<think>\\n' + message['reasoning_content'] + '\\n</think>\\n\\n'}}" +
  "{% endif %}" +
  "{{message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}";

/** The infill tokens `infill` adds, spelt as Qwen2.5-Coder's and StarCoder2's, with their GGUF metadata keys. */
export const INFILL_PIECES = {
  "tokenizer.ggml.fim_pre_token_id": "<|fim_prefix|>",
  "tokenizer.ggml.fim_suf_token_id": "<|fim_suffix|>",
  "tokenizer.ggml.fim_mid_token_id": "<|fim_middle|>",
  "tokenizer.ggml.fim_pad_token_id": "<|fim_pad|>",
} as const;

const SPACE = "\u2581"; // SentencePiece's visible space
const WORDS = (
  "the of and to in is it you that he was for on are as with his they at be this have from or one had by word but " +
  "not what all were we when your can said there use an each which she do how their if will up other about out many " +
  "then them these so some her would make like him into time has look two more write go see number no way could " +
  "people my than first water been call who oil its now find long down day did get come made may part model token " +
  "hello world test local daemon"
).split(" ");
const SUFFIXES = "ing ed er es ly tion ment ness able ous al en est ful ism".split(" ");

/**
 * A byte-level SentencePiece vocabulary: `<unk>`, `<s>`, `</s>`, the ChatML markers, the 256 byte-fallback tokens
 * `<0x00>`..`<0xFF>` (so any text tokenizes), printable ASCII, word pieces, then generated pieces up to `vocabSize`.
 */
export function buildTinyVocab(vocabSize?: number): TinyToken[] {
  const tokens: TinyToken[] = [
    { piece: "<unk>", type: "unknown", score: 0 },
    { piece: "<s>", type: "control", score: 0 },
    { piece: "</s>", type: "control", score: 0 },
    { piece: "<|im_start|>", type: "control", score: 0 },
    { piece: "<|im_end|>", type: "control", score: 0 },
  ];
  for (let b = 0; b < 256; b++) {
    tokens.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, type: "byte", score: 0 });
  }
  const seen = new Set(tokens.map((t) => t.piece));
  const add = (piece: string) => {
    if (seen.has(piece)) return;
    seen.add(piece);
    // SentencePiece merges the highest-scoring pair first; earlier pieces rank higher.
    tokens.push({ piece, type: "normal", score: -tokens.length });
  };
  add(SPACE);
  for (let c = 0x21; c < 0x7f; c++) add(String.fromCharCode(c));
  for (let c = 0x61; c <= 0x7a; c++) add(SPACE + String.fromCharCode(c));
  for (const word of WORDS) add(SPACE + word);
  for (const suffix of SUFFIXES) add(suffix);
  if (vocabSize !== undefined) {
    if (vocabSize < tokens.length) {
      throw new RangeError(`vocabSize must be at least ${tokens.length}, got ${vocabSize}`);
    }
    for (const piece of generatedPieces()) {
      if (tokens.length >= vocabSize) break;
      add(piece);
    }
  }
  return tokens;
}

/** Lower-case letter strings of growing length, with and without a leading space mark. */
function* generatedPieces(): Generator<string> {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (let length = 2; ; length++) {
    const total = letters.length ** length;
    for (const prefix of [SPACE, ""]) {
      for (let n = 0; n < total; n++) {
        let piece = "";
        for (let i = 0, rest = n; i < length; i++, rest = Math.floor(rest / letters.length)) {
          piece = letters[rest % letters.length] + piece;
        }
        yield prefix + piece;
      }
    }
  }
}

/** Options with every default applied. */
type ResolvedOptions = Required<Omit<TinyLlamaOptions, "vocabSize" | "vocab">> & { vocab: readonly TinyToken[] };

function resolveOptions(options: TinyLlamaOptions): ResolvedOptions {
  const resolved: ResolvedOptions = {
    seed: options.seed ?? 1,
    name: options.name ?? TINY_PRESET.name,
    vocab: options.vocab ?? buildTinyVocab(options.vocabSize),
    nLayers: options.nLayers ?? TINY_PRESET.nLayers,
    nEmbd: options.nEmbd ?? TINY_PRESET.nEmbd,
    nHead: options.nHead ?? TINY_PRESET.nHead,
    nHeadKv: options.nHeadKv ?? options.nHead ?? TINY_PRESET.nHeadKv,
    nFf: options.nFf ?? TINY_PRESET.nFf,
    contextLength: options.contextLength ?? TINY_PRESET.contextLength,
    tensorType: options.tensorType ?? TINY_PRESET.tensorType,
    chatTemplate: options.chatTemplate ?? CHATML_TEMPLATE,
    logitSpread: options.logitSpread ?? 8,
    infill: options.infill ?? false,
  };
  if (resolved.infill) resolved.vocab = withInfillTokens(resolved.vocab);
  const { nEmbd, nHead, nHeadKv, nFf, nLayers, tensorType } = resolved;
  if (!["F32", "F16", "Q8_0"].includes(tensorType)) {
    throw new RangeError(`tensorType must be F32, F16 or Q8_0, got ${tensorType}`);
  }
  if (!Number.isInteger(resolved.seed) || resolved.seed < 0 || resolved.seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer from 0 to 2^32-1, got ${resolved.seed}`);
  }
  const sizes = { nLayers, nEmbd, nHead, nHeadKv, nFf, contextLength: resolved.contextLength };
  for (const [key, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${value}`);
  }
  if (nEmbd % nHead !== 0) throw new RangeError(`nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
  if (nHead % nHeadKv !== 0) throw new RangeError(`nHead (${nHead}) must be divisible by nHeadKv (${nHeadKv})`);
  if (tensorType === "Q8_0" && (nEmbd % 32 !== 0 || nFf % 32 !== 0)) {
    throw new RangeError(`Q8_0 needs nEmbd and nFf to be multiples of 32, got ${nEmbd} and ${nFf}`);
  }
  for (const piece of ["<unk>", "<s>", "</s>"]) {
    if (!resolved.vocab.some((t) => t.piece === piece)) throw new RangeError(`the vocabulary needs a "${piece}" token`);
  }
  return resolved;
}

/** `vocab` with the infill tokens it lacks appended, so every other token keeps its id (and its weights). */
function withInfillTokens(vocab: readonly TinyToken[]): TinyToken[] {
  const missing = Object.values(INFILL_PIECES).filter((piece) => !vocab.some((t) => t.piece === piece));
  return [...vocab, ...missing.map((piece): TinyToken => ({ piece, type: "control", score: 0 }))];
}

/**
 * The GGUF spec of a random-weight llama model. Tensor data is produced lazily, chunk by chunk, when the spec is
 * written, so a large model streams to disk without being held in memory.
 */
export function tinyLlamaSpec(options: TinyLlamaOptions = {}): GgufSpec {
  const o = resolveOptions(options);
  const { nEmbd, nHead, nHeadKv, nFf, nLayers, vocab } = o;
  const nVocab = vocab.length;
  const headDim = nEmbd / nHead;
  const idOf = (piece: string) => vocab.findIndex((t) => t.piece === piece);

  const metadata: Record<string, GgufMetadataValue> = {
    "general.architecture": ggufValue.string("llama"),
    "general.name": ggufValue.string(o.name),
    "general.file_type": ggufValue.uint32({ F32: 0, F16: 1, Q8_0: 7 }[o.tensorType]),
    ...(o.tensorType === "Q8_0" ? { "general.quantization_version": ggufValue.uint32(2) } : {}),
    "llama.vocab_size": ggufValue.uint32(nVocab),
    "llama.context_length": ggufValue.uint32(o.contextLength),
    "llama.embedding_length": ggufValue.uint32(nEmbd),
    "llama.block_count": ggufValue.uint32(nLayers),
    "llama.feed_forward_length": ggufValue.uint32(nFf),
    "llama.rope.dimension_count": ggufValue.uint32(headDim),
    "llama.rope.freq_base": ggufValue.float32(10000),
    "llama.attention.head_count": ggufValue.uint32(nHead),
    "llama.attention.head_count_kv": ggufValue.uint32(nHeadKv),
    "llama.attention.layer_norm_rms_epsilon": ggufValue.float32(1e-5),
    "tokenizer.ggml.model": ggufValue.string("llama"),
    "tokenizer.ggml.tokens": ggufValue.stringArray(vocab.map((t) => t.piece)),
    "tokenizer.ggml.scores": ggufValue.float32Array(vocab.map((t) => t.score)),
    "tokenizer.ggml.token_type": ggufValue.int32Array(vocab.map((t) => TokenType[t.type])),
    "tokenizer.ggml.unknown_token_id": ggufValue.uint32(idOf("<unk>")),
    "tokenizer.ggml.bos_token_id": ggufValue.uint32(idOf("<s>")),
    "tokenizer.ggml.eos_token_id": ggufValue.uint32(idOf("</s>")),
    "tokenizer.chat_template": ggufValue.string(o.chatTemplate),
  };
  if (o.infill) {
    for (const [key, piece] of Object.entries(INFILL_PIECES)) metadata[key] = ggufValue.uint32(idOf(piece));
  }

  const weight = o.tensorType;
  const random = (name: string, dims: number[], std: number, type: GgmlWritableType = weight): GgufTensorSpec => ({
    name,
    dims,
    type,
    data: () => randomChunks(o.seed, name, dims, std),
  });
  const ones = (name: string, length: number): GgufTensorSpec => ({
    name,
    dims: [length],
    type: "F32",
    data: new Float32Array(length).fill(1),
  });

  const tensors: GgufTensorSpec[] = [
    random("token_embd.weight", [nEmbd, nVocab], 1),
    ones("output_norm.weight", nEmbd),
    {
      name: "output.weight",
      dims: [nEmbd, nVocab],
      type: weight,
      data: () => outputRows(o.seed, vocab, nEmbd, o.logitSpread / Math.sqrt(nEmbd)),
    },
  ];
  for (let i = 0; i < nLayers; i++) {
    const b = `blk.${i}`;
    tensors.push(
      ones(`${b}.attn_norm.weight`, nEmbd),
      random(`${b}.attn_q.weight`, [nEmbd, nHead * headDim], 1 / Math.sqrt(nEmbd)),
      random(`${b}.attn_k.weight`, [nEmbd, nHeadKv * headDim], 1 / Math.sqrt(nEmbd)),
      random(`${b}.attn_v.weight`, [nEmbd, nHeadKv * headDim], 1 / Math.sqrt(nEmbd)),
      random(`${b}.attn_output.weight`, [nHead * headDim, nEmbd], 1 / Math.sqrt(nEmbd)),
      ones(`${b}.ffn_norm.weight`, nEmbd),
      random(`${b}.ffn_gate.weight`, [nEmbd, nFf], 1 / Math.sqrt(nEmbd)),
      random(`${b}.ffn_up.weight`, [nEmbd, nFf], 1 / Math.sqrt(nEmbd)),
      random(`${b}.ffn_down.weight`, [nFf, nEmbd], 1 / Math.sqrt(nFf)),
    );
  }
  return { metadata, tensors };
}

/** A random-weight llama GGUF, in memory. Fine for small models; use {@link writeTinyLlama} for large ones. */
export function generateTinyLlama(options: TinyLlamaOptions = {}): Uint8Array {
  return encodeGguf(tinyLlamaSpec(options));
}

/** Writes a random-weight llama GGUF to `path`, streaming, atomically (temporary file, then rename). */
export async function writeTinyLlama(path: string, options: TinyLlamaOptions = {}): Promise<{ bytes: number }> {
  return writeGguf(path, tinyLlamaSpec(options));
}

/** The number of parameters a model with these options has (what `general.parameter_count` would say). */
export function tinyLlamaParameterCount(options: TinyLlamaOptions = {}): number {
  return tinyLlamaSpec(options).tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
}

const CHUNK_VALUES = 64 * 1024;

/** Uniform values with standard deviation `std`, in chunks of whole rows. Each tensor has its own PRNG stream. */
function* randomChunks(seed: number, name: string, dims: readonly number[], std: number): Generator<Float32Array> {
  const rowLength = dims[0];
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / rowLength));
  const next = mulberry32(hashSeed(seed, name));
  const amplitude = std * Math.sqrt(3); // a uniform on [-a, a] has standard deviation a / sqrt(3)
  const buffer = new Float32Array(rowsPerChunk * rowLength);
  for (let row = 0; row < rows; row += rowsPerChunk) {
    const chunk = buffer.subarray(0, Math.min(rowsPerChunk, rows - row) * rowLength);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (next() * 2 - 1) * amplitude;
    yield chunk;
  }
}

/**
 * Rows of `output.weight`, one per token. Why not plain random: with random rows the end-of-generation and byte
 * tokens get sampled as often as any other, so generations stop after a few tokens or emit stray bytes that are not
 * valid UTF-8. Zero rows give those tokens a logit of exactly 0, while ordinary tokens get logits with standard
 * deviation `std * sqrt(nEmbd)` (the final RMS norm makes the hidden state's scale ~1): some ordinary token is then
 * always far ahead, and generations run to their token limit in valid UTF-8.
 */
function* outputRows(seed: number, vocab: readonly TinyToken[], nEmbd: number, std: number): Generator<Float32Array> {
  const next = mulberry32(hashSeed(seed, "output.weight"));
  const amplitude = std * Math.sqrt(3);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_VALUES / nEmbd));
  const buffer = new Float32Array(rowsPerChunk * nEmbd);
  for (let row = 0; row < vocab.length; row += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, vocab.length - row);
    const chunk = buffer.subarray(0, count * nEmbd);
    for (let r = 0; r < count; r++) {
      const ordinary = vocab[row + r].type === "normal";
      for (let i = r * nEmbd; i < (r + 1) * nEmbd; i++) {
        // Drawn either way, so a row's values do not depend on the types of the rows before it.
        const value = (next() * 2 - 1) * amplitude;
        chunk[i] = ordinary ? value : 0;
      }
    }
    yield chunk;
  }
}

/** A 32-bit seed from the model seed and a tensor name (FNV-1a, then a murmur finaliser). */
function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: a tiny, fast, seedable PRNG returning floats in [0, 1). Plenty for random weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
