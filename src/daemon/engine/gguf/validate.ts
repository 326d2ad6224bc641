/**
 * Checks a GGUF header before llama.cpp sees the file. Some defects make llama.cpp abort the whole process
 * (exit 134, uncatchable from JavaScript) instead of failing the load: a llama model without
 * `llama.attention.head_count` or `llama.feed_forward_length` is one. Others fail the load with only "Failed to load
 * model" reaching JavaScript. Either way the caller gets a typed error naming the problem.
 *
 * `llama` (the architecture mlxm generates) is checked strictly: every key and tensor shape llama.cpp relies on.
 * Other architectures get the checks that hold for every llama.cpp text model, so that valid real models (qwen2,
 * gemma, phi3, ...) are never rejected.
 */
import { InvalidModelError } from "../errors.js";
import { alignTo, ggmlTypeTraits } from "./gguf-format.js";
import { metadataArray, metadataNumber, metadataString, type GgufMetadata } from "./gguf-metadata.js";
import { readGgufFile, type GgufFileInfo, type GgufTensorInfo } from "./gguf-reader.js";

/** llama.cpp's LLAMA_MAX_LAYERS. */
const MAX_LAYERS = 512;

/**
 * Transformer architectures whose every layer has attention: llama.cpp needs `<arch>.attention.head_count` (and,
 * unless they use experts, `<arch>.feed_forward_length`) and their `token_embd.weight` is `[n_embd, n_vocab]`.
 * Architectures not listed (state-space, RWKV, hybrids whose per-layer KV head count is 0 on non-attention layers,
 * encoder-decoders...) only get the generic checks.
 */
const ATTENTION_ARCHS = new Set([
  "llama", "mistral3", "qwen", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi2", "phi3", "starcoder2", "stablelm",
  "internlm2", "olmo", "olmo2", "granite", "smollm3", "exaone", "command-r", "cohere2", "gpt2", "gptneox", "falcon",
  "bloom", "mpt", "baichuan", "minicpm", "orion", "nemotron", "starcoder", "refact", "codeshell", "xverse", "plamo",
]);

/**
 * Everything wrong with a GGUF header, as sentences naming the key, tensor or offset at fault. Empty when the file
 * is safe to hand to llama.cpp (as far as a header can tell).
 */
export function validateGguf(info: GgufFileInfo): string[] {
  const problems: string[] = [];
  const md = info.metadata;

  if (info.version !== 2 && info.version !== 3) problems.push(`unsupported GGUF version ${info.version}`);
  checkTensorLayout(info, problems);

  const arch = metadataString(md, "general.architecture");
  if (arch === undefined || arch === "") {
    problems.push(missingKey("general.architecture", md));
    return problems;
  }
  const tokens = checkTokenizer(md, problems);
  const strict = arch === "llama";
  const attention = ATTENTION_ARCHS.has(arch);
  // Mixture-of-experts variants may describe their feed-forward size by expert keys instead.
  const dense = attention && !((metadataNumber(md, `${arch}.expert_count`) ?? 0) > 0);

  requirePositive(md, `${arch}.context_length`, problems);
  const nEmbd = requirePositive(md, `${arch}.embedding_length`, problems);
  const nLayers = requirePositive(md, `${arch}.block_count`, problems);
  if (nLayers !== undefined && nLayers > MAX_LAYERS) {
    problems.push(`${arch}.block_count is ${nLayers}, more than llama.cpp's limit of ${MAX_LAYERS}`);
  }
  const nHead = perLayer(md, `${arch}.attention.head_count`, nLayers, attention, problems);
  const nHeadKv = perLayer(md, `${arch}.attention.head_count_kv`, nLayers, false, problems) ?? nHead;
  const nFf = perLayer(md, `${arch}.feed_forward_length`, nLayers, dense || strict, problems);
  if (strict) {
    requirePositive(md, "llama.attention.layer_norm_rms_epsilon", problems, true);
    if (metadataString(md, "tokenizer.ggml.model") === undefined) problems.push(missingKey("tokenizer.ggml.model", md));
  }

  // Without an explicit key length llama.cpp uses n_embd / n_head, so it must divide evenly.
  const keyLength = metadataNumber(md, `${arch}.attention.key_length`);
  const valueLength = metadataNumber(md, `${arch}.attention.value_length`);
  if (attention && nEmbd !== undefined && nHead !== undefined && keyLength === undefined) {
    for (const [layer, heads] of nHead.entries()) {
      if (heads > 0 && nEmbd % heads !== 0) {
        problems.push(
          `${arch}.embedding_length (${nEmbd}) is not divisible by ${arch}.attention.head_count (${heads})` +
            layerNote(nHead, layer),
        );
        break;
      }
    }
  }
  if (attention && nHead !== undefined && nHeadKv !== undefined) {
    for (const [layer, heads] of nHead.entries()) {
      const kv = nHeadKv[layer];
      if (heads > 0 && (kv === 0 || heads % kv !== 0)) {
        problems.push(
          `${arch}.attention.head_count (${heads}) is not a multiple of ${arch}.attention.head_count_kv (${kv})` +
            layerNote(nHead, layer),
        );
        break;
      }
    }
  }

  // The first part of a split model holds all the metadata (which is what guards against llama.cpp's aborts) but
  // only some of the tensors: the rest are in the other parts, which llama.cpp checks as it loads them.
  if ((metadataNumber(md, "split.count") ?? 1) > 1) return problems;
  const tensors = new Map(info.tensors.map((t) => [t.name, t]));
  if (attention && nEmbd !== undefined && tokens !== undefined) {
    expectTensor(tensors, "token_embd.weight", [nEmbd, tokens], problems, true);
  }
  if (strict && nEmbd !== undefined && nLayers !== undefined && nHead !== undefined && nHeadKv !== undefined) {
    const shape = { nEmbd, nLayers, nHead, nHeadKv, nFf, nVocab: tokens, keyLength, valueLength };
    checkLlamaTensors(md, tensors, shape, problems);
  }
  return problems;
}

/** Throws `InvalidModelError` listing every problem of {@link validateGguf}, if there are any. */
export function assertValidGguf(info: GgufFileInfo): void {
  const problems = validateGguf(info);
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : "";
  const where = info.path ? `${info.path}: ` : "";
  throw new InvalidModelError(`${where}invalid model: ${problems[0]}${more}`, problems, info.path || undefined);
}

/**
 * Reads and validates the GGUF file at `path` (the built-in model and the benchmarks check theirs this way; the
 * engine's loader reads every part of a model once in `checked-model-file.ts`). Returns the header; throws
 * `InvalidModelError` for an unreadable or invalid file.
 */
export async function readValidGgufFile(path: string): Promise<GgufFileInfo> {
  const info = await readGgufFile(path);
  assertValidGguf(info);
  return info;
}

function missingKey(key: string, md: GgufMetadata): string {
  const entry = md.get(key);
  if (entry) return `metadata key "${key}" has the wrong type (${entry.type})`;
  return `missing metadata key "${key}"`;
}

/** A required numeric key that must be > 0; records a problem and returns undefined otherwise. */
function requirePositive(md: GgufMetadata, key: string, problems: string[], float = false): number | undefined {
  const value = metadataNumber(md, key);
  if (value === undefined) {
    problems.push(missingKey(key, md));
    return undefined;
  }
  if (!(value > 0) || (!float && !Number.isInteger(value))) {
    problems.push(`metadata key "${key}" must be a positive ${float ? "number" : "integer"}, got ${value}`);
    return undefined;
  }
  return value;
}

/**
 * A per-layer hyperparameter, which GGUF stores either as one number or as an array with one entry per layer.
 * Returns one value per layer, or undefined when absent (recording a problem if `required`) or malformed.
 */
function perLayer(
  md: GgufMetadata,
  key: string,
  nLayers: number | undefined,
  required: boolean,
  problems: string[],
): number[] | undefined {
  const entry = md.get(key);
  if (entry === undefined) {
    if (required) problems.push(`missing metadata key "${key}" (llama.cpp aborts the process without it)`);
    return undefined;
  }
  if (entry.type === "array") {
    const values = entry.value;
    if (!values.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 0)) {
      problems.push(`metadata key "${key}" must hold non-negative integers`);
      return undefined;
    }
    if (nLayers !== undefined && values.length !== nLayers) {
      problems.push(`metadata key "${key}" has ${values.length} entries, expected one per layer (${nLayers})`);
      return undefined;
    }
    return values as number[];
  }
  const value = metadataNumber(md, key);
  if (value === undefined || !Number.isInteger(value) || value < 0 || (required && value === 0)) {
    problems.push(`metadata key "${key}" must be a positive integer, got ${entry.type} ${String(entry.value)}`);
    return undefined;
  }
  return new Array<number>(nLayers ?? 1).fill(value);
}

function layerNote(values: readonly number[], layer: number): string {
  return values.length > 1 && new Set(values).size > 1 ? ` in layer ${layer}` : "";
}

/** The tokenizer arrays llama.cpp indexes blindly: a short scores or token_type array would be read out of bounds. */
function checkTokenizer(md: GgufMetadata, problems: string[]): number | undefined {
  const tokens = metadataArray(md, "tokenizer.ggml.tokens");
  if (tokens === undefined) {
    problems.push(missingKey("tokenizer.ggml.tokens", md));
    return undefined;
  }
  if (tokens.itemType !== "string") {
    problems.push(`tokenizer.ggml.tokens must be an array of strings, got an array of ${tokens.itemType}`);
    return undefined;
  }
  const n = tokens.value.length;
  if (n === 0) {
    problems.push("tokenizer.ggml.tokens is empty");
    return undefined;
  }
  const parallel: [string, string][] = [
    ["tokenizer.ggml.scores", "float32"],
    ["tokenizer.ggml.token_type", "int32"],
  ];
  for (const [key, itemType] of parallel) {
    const entry = md.get(key);
    if (entry === undefined) continue;
    if (entry.type !== "array" || entry.itemType !== itemType) {
      problems.push(`${key} must be an array of ${itemType}`);
    } else if (entry.value.length !== n) {
      problems.push(`${key} has ${entry.value.length} entries but there are ${n} tokens`);
    }
  }
  const merges = md.get("tokenizer.ggml.merges");
  if (merges !== undefined && (merges.type !== "array" || merges.itemType !== "string")) {
    problems.push("tokenizer.ggml.merges must be an array of strings");
  }
  const model = md.get("tokenizer.ggml.model");
  if (model !== undefined && model.type !== "string") problems.push(missingKey("tokenizer.ggml.model", md));
  return n;
}

/** Types, sizes and data offsets: every tensor's data must lie, aligned and in order, inside the file. */
function checkTensorLayout(info: GgufFileInfo, problems: string[]): void {
  const seen = new Set<string>();
  let expectedOffset: number | undefined = 0;
  let truncationReported = false;
  for (const tensor of info.tensors) {
    if (seen.has(tensor.name)) problems.push(`duplicate tensor "${tensor.name}"`);
    seen.add(tensor.name);
    const traits = ggmlTypeTraits(tensor.type);
    if (traits === undefined || traits.removed) {
      const kind = traits ? "the retired" : "an unknown";
      problems.push(`tensor "${tensor.name}" has ${kind} type ${tensor.typeName} (id ${tensor.type})`);
      expectedOffset = undefined;
      continue;
    }
    if (!Number.isSafeInteger(tensor.elementCount)) problems.push(`tensor "${tensor.name}" has too many elements`);
    if (traits.blockSize > 1 && (tensor.dims[0] ?? 1) % traits.blockSize !== 0) {
      problems.push(
        `tensor "${tensor.name}" has rows of ${tensor.dims[0]} values, ` +
          `not a multiple of the ${traits.name} block size ${traits.blockSize}`,
      );
    }
    if (tensor.offset % info.alignment !== 0) {
      problems.push(`tensor "${tensor.name}" data offset ${tensor.offset} is not aligned to ${info.alignment} bytes`);
    }
    if (tensor.byteSize === undefined) {
      expectedOffset = undefined;
      continue;
    }
    // llama.cpp requires the data of consecutive tensors to follow each other exactly, each padded to the alignment.
    if (expectedOffset !== undefined && tensor.offset !== expectedOffset) {
      problems.push(`tensor "${tensor.name}" data offset is ${tensor.offset}, expected ${expectedOffset}`);
    }
    expectedOffset = alignTo(tensor.offset + tensor.byteSize, info.alignment);
    const end = tensor.fileOffset + tensor.byteSize;
    if (end > info.fileSize && !truncationReported) {
      truncationReported = true; // one line is enough: every later tensor is past the end too
      problems.push(
        `tensor "${tensor.name}" data ends at byte ${end}, past the end of the file (${info.fileSize} bytes): ` +
          "the file is truncated",
      );
    }
  }
}

interface LlamaShape {
  nEmbd: number;
  nLayers: number;
  nHead: number[];
  nHeadKv: number[];
  nFf: number[] | undefined;
  nVocab: number | undefined;
  keyLength: number | undefined;
  valueLength: number | undefined;
}

/** Every tensor llama.cpp's llama graph creates, with the shape it insists on (`output.weight` may be absent). */
function checkLlamaTensors(
  md: GgufMetadata,
  tensors: Map<string, GgufTensorInfo>,
  s: LlamaShape,
  problems: string[],
): void {
  const { nEmbd, nVocab } = s;
  expectTensor(tensors, "output_norm.weight", [nEmbd], problems, true);
  if (nVocab !== undefined) expectTensor(tensors, "output.weight", [nEmbd, nVocab], problems, false);
  const moe = (metadataNumber(md, "llama.expert_count") ?? 0) > 0;
  for (let i = 0; i < s.nLayers; i++) {
    const b = `blk.${i}`;
    const heads = s.nHead[i];
    const kvHeads = s.nHeadKv[i];
    const headK = s.keyLength ?? (heads > 0 ? nEmbd / heads : 0);
    const headV = s.valueLength ?? headK;
    expectTensor(tensors, `${b}.attn_norm.weight`, [nEmbd], problems, true);
    expectTensor(tensors, `${b}.attn_q.weight`, [nEmbd, headK * heads], problems, true);
    expectTensor(tensors, `${b}.attn_k.weight`, [nEmbd, headK * kvHeads], problems, true);
    expectTensor(tensors, `${b}.attn_v.weight`, [nEmbd, headV * kvHeads], problems, true);
    expectTensor(tensors, `${b}.attn_output.weight`, [headV * heads, nEmbd], problems, true);
    expectTensor(tensors, `${b}.ffn_norm.weight`, [nEmbd], problems, true);
    if (moe) {
      // Mixture-of-experts llama (Mixtral): expert tensor layouts vary between converters; check the router only.
      expectTensor(tensors, `${b}.ffn_gate_inp.weight`, undefined, problems, true);
    } else if (s.nFf !== undefined) {
      const ff = s.nFf[i];
      expectTensor(tensors, `${b}.ffn_gate.weight`, [nEmbd, ff], problems, true);
      expectTensor(tensors, `${b}.ffn_up.weight`, [nEmbd, ff], problems, true);
      expectTensor(tensors, `${b}.ffn_down.weight`, [ff, nEmbd], problems, true);
    }
  }
}

/** A problem if the tensor is missing (when required) or has another shape (trailing 1s ignored, as ggml does). */
function expectTensor(
  tensors: Map<string, GgufTensorInfo>,
  name: string,
  shape: readonly number[] | undefined,
  problems: string[],
  required: boolean,
): void {
  const tensor = tensors.get(name);
  if (tensor === undefined) {
    if (required) problems.push(`missing tensor "${name}"`);
    return;
  }
  if (shape === undefined) return;
  const pad = (dims: readonly number[]) => [...dims, 1, 1, 1, 1].slice(0, Math.max(4, dims.length));
  const actual = pad(tensor.dims);
  const expected = pad(shape);
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    problems.push(`tensor "${name}" has shape [${tensor.dims.join(", ")}], expected [${shape.join(", ")}]`);
  }
}
