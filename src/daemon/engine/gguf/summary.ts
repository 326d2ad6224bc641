/**
 * What `mlxm show` and `/api/show` say about a model, from its GGUF header alone.
 */
import { GGUF_FILE_TYPE_NAMES } from "./gguf-format.js";
import { metadataArray, metadataNumber, metadataString } from "./gguf-metadata.js";
import type { GgufFileInfo } from "./gguf-reader.js";

/** A model at a glance. */
export interface GgufSummary {
  readonly architecture: string;
  /** `general.name`, when the file has one. */
  readonly name?: string;
  /** Sum of the tensors' element counts. */
  readonly parameterCount: number;
  /** The parameter count the way model cards say it: "60M", "1.5B". */
  readonly parameterSize: string;
  /** "F32", "F16", "Q8_0", "Q4_K_M"...: from `general.file_type`, else the type holding most of the weights. */
  readonly quantization: string;
  readonly contextLength?: number;
  readonly embeddingLength?: number;
  readonly blockCount?: number;
  /** Attention heads (the largest per-layer value when it varies by layer). */
  readonly headCount?: number;
  readonly vocabSize?: number;
  readonly hasChatTemplate: boolean;
  readonly chatTemplate?: string;
  readonly fileSizeBytes: number;
  readonly tensorCount: number;
}

/** Summarises a GGUF header. `fileSizeBytes` defaults to the size the header was read from. */
export function summarizeGguf(info: GgufFileInfo, fileSizeBytes: number = info.fileSize): GgufSummary {
  const md = info.metadata;
  const architecture = metadataString(md, "general.architecture") ?? "unknown";
  const parameterCount = info.tensors.reduce((sum, t) => sum + t.elementCount, 0);
  const chatTemplate = metadataString(md, "tokenizer.chat_template");
  const headCount = metadataArray(md, `${architecture}.attention.head_count`);
  return {
    architecture,
    ...defined("name", metadataString(md, "general.name")),
    parameterCount,
    parameterSize: formatParameterCount(parameterCount),
    quantization: quantizationOf(info),
    ...defined("contextLength", metadataNumber(md, `${architecture}.context_length`)),
    ...defined("embeddingLength", metadataNumber(md, `${architecture}.embedding_length`)),
    ...defined("blockCount", metadataNumber(md, `${architecture}.block_count`)),
    ...defined(
      "headCount",
      headCount
        ? Math.max(0, ...headCount.value.filter((v): v is number => typeof v === "number"))
        : metadataNumber(md, `${architecture}.attention.head_count`),
    ),
    ...defined("vocabSize", metadataArray(md, "tokenizer.ggml.tokens")?.value.length),
    hasChatTemplate: chatTemplate !== undefined && chatTemplate !== "",
    ...defined("chatTemplate", chatTemplate || undefined),
    fileSizeBytes,
    tensorCount: info.tensors.length,
  };
}

/** "60M", "1.5B", "494M", "7.6B": one decimal below 10 units, whole units above. */
export function formatParameterCount(count: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "K"],
  ];
  for (const [scale, suffix] of units) {
    if (count >= scale) {
      const value = count / scale;
      return `${value < 10 ? value.toFixed(1) : Math.round(value).toString()}${suffix}`;
    }
  }
  return String(count);
}

/** The file type's name, or else the tensor type holding the most bytes among multi-dimensional (weight) tensors. */
function quantizationOf(info: GgufFileInfo): string {
  const fileType = metadataNumber(info.metadata, "general.file_type");
  if (fileType !== undefined && GGUF_FILE_TYPE_NAMES[fileType] !== undefined) return GGUF_FILE_TYPE_NAMES[fileType];
  const bytesByType = new Map<string, number>();
  for (const tensor of info.tensors) {
    if (tensor.dims.filter((d) => d > 1).length < 2) continue;
    const bytes = tensor.byteSize ?? tensor.elementCount;
    bytesByType.set(tensor.typeName, (bytesByType.get(tensor.typeName) ?? 0) + bytes);
  }
  let best = "unknown";
  let bestBytes = -1;
  for (const [type, bytes] of bytesByType) {
    if (bytes > bestBytes) [best, bestBytes] = [type, bytes];
  }
  return best;
}

/** `{ [key]: value }` when value is defined, else `{}`: keeps optional fields absent rather than undefined. */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
