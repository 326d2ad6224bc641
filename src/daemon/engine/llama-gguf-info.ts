/**
 * node-llama-cpp's `GgufFileInfo`, built from headers mlxm's own reader has already parsed, so a load parses the
 * file once (plus llama.loadModel's own parse, which we cannot avoid) instead of twice. `GgufInsights` (the memory
 * estimate) takes this shape.
 *
 * Why not the reverse (parse with node-llama-cpp's `readGgufFileInfo`, validate from that): its reader trusts the
 * lengths in the file and reads past the end as zeros, so a 57-byte file claiming a 10M-item array parses
 * "successfully" in 2.5 s and 365 MiB, and a 2^32 claim exhausts memory. mlxm's reader caps every length against
 * the bytes left and keeps each value's GGUF type, which the validation needs; it must see a file first.
 *
 * The conversion mirrors node-llama-cpp 3.21.1 (`parseGguf`, `readGgufFileInfo`,
 * `convertMetadataKeyValueRecordToNestedObject`, `resolveSplitGgufParts`, none of them exported); a unit test
 * deep-compares the result with `readGgufFileInfo`'s, so an upgrade that changes the shape fails loudly.
 */
import path from "node:path";
import type { GgufFileInfo as LlamaGgufFileInfo, GgufTensorInfo as LlamaGgufTensorInfo } from "node-llama-cpp";
import type { GgufFileInfo, GgufPlainValue } from "./gguf/index.js";

export type { LlamaGgufFileInfo };

/** node-llama-cpp's split-part naming: `<base>-00001-of-00003.gguf`. */
const SPLIT_PART = /-(?<part>\d{5})-of-(?<parts>\d{5})\.gguf$/;

/** Keys whose dotted tail stays one key (node-llama-cpp's `noDirectSubNestingGGufMetadataKeys`). */
const NO_DIRECT_SUB_NESTING = new Set(["general.license", "tokenizer.chat_template"]);

type Nested = { [key: string]: unknown };

/**
 * Every file node-llama-cpp (and llama.cpp) read for the model at `modelPath`: the path itself, or all parts of a
 * split model named as node-llama-cpp names them, first part first.
 */
export function modelFileParts(modelPath: string): string[] {
  const match = SPLIT_PART.exec(modelPath);
  if (!match?.groups) return [modelPath];
  const part = Number(match.groups.part);
  const parts = Number(match.groups.parts);
  if (part === 0 || parts === 0 || part > parts) return [modelPath];
  const base = modelPath.slice(0, modelPath.length - match[0].length);
  const pad = (n: number) => String(n).padStart(5, "0");
  return Array.from({ length: parts }, (_, i) => `${base}-${pad(i + 1)}-of-${pad(parts)}.gguf`);
}

/**
 * What `readGgufFileInfo(modelPath)` would return, from the headers of {@link modelFileParts} (in that order) as
 * mlxm's reader returned them.
 */
export function toLlamaGgufFileInfo(modelPath: string, parts: readonly GgufFileInfo[]): LlamaGgufFileInfo {
  const infos = parts.map((part, index) => partInfo(part, index + 1));
  const [first, ...rest] = infos;
  if (!first) throw new Error("a model has at least one file");
  const source = { type: "path" as const, path: modelPath };
  if (rest.length === 0) return { ...first, source };
  return {
    ...first,
    splicedParts: infos.length,
    totalTensorInfoSize: infos.reduce((sum, p) => sum + p.tensorInfoSize, 0),
    totalTensorCount: infos.reduce((sum, p) => sum + p.tensorCount, 0),
    totalMetadataSize: infos.reduce((sum, p) => sum + p.metadataSize, 0),
    fullTensorInfo: infos.flatMap((p) => p.tensorInfo),
    sourceData: infos.flatMap((p) => p.sourceData),
    source,
  };
}

/** One file as node-llama-cpp's `parseGguf` describes it (`filePart` counts from 1). */
function partInfo(info: GgufFileInfo, filePart: number) {
  const record: Record<string, GgufPlainValue> = {};
  for (const [key, entry] of info.metadata) record[key] = entry.value;
  const metadata = nestMetadata(record) as LlamaGgufFileInfo["metadata"];
  const tensorInfo: LlamaGgufTensorInfo[] = info.tensors.map((t) => ({
    name: t.name,
    dimensions: [...t.dims],
    ggmlType: t.type as LlamaGgufTensorInfo["ggmlType"],
    offset: t.offset,
    fileOffset: t.fileOffset,
    filePart,
  }));
  const architecture = (metadata as { general?: { architecture?: string } }).general?.architecture;
  return {
    version: info.version,
    tensorCount: info.tensors.length,
    metadata,
    infoEndOffset: info.dataOffset,
    architectureMetadata: ((architecture === undefined ? undefined : (metadata as Nested)[architecture]) ??
      {}) as LlamaGgufFileInfo["architectureMetadata"],
    tensorInfo,
    metadataSize: info.metadataEnd,
    splicedParts: 1,
    totalTensorInfoSize: info.tensorInfoEnd - info.metadataEnd,
    totalTensorCount: info.tensors.length,
    totalMetadataSize: info.metadataEnd,
    sourceData: [{ type: "path" as const, path: path.resolve(info.path), length: info.dataOffset }],
    fullTensorInfo: tensorInfo,
    tensorInfoSize: info.tensorInfoEnd - info.metadataEnd,
  };
}

/**
 * Dotted keys as nested objects ("llama.attention.head_count" → `{ llama: { attention: { head_count } } }`), with
 * node-llama-cpp's rules for a key that is both a value and a prefix of other keys: the value's key is flattened
 * into its parent ("a.b" and "a.b.c" become `{ a: { b: …, "b.c": … } }` in either order).
 */
function nestMetadata(record: Record<string, unknown>): Nested {
  const root: Nested = {};
  for (const [key, value] of Object.entries(record)) {
    const { parent, leaf } = nestedParent(key, root);
    if (Object.hasOwn(parent, leaf)) {
      const current = parent[leaf];
      delete parent[leaf];
      flatten(parent, leaf, current);
    }
    parent[leaf] = value;
  }
  return root;
}

function nestedParent(key: string, root: Nested): { parent: Nested; leaf: string } {
  const parts = key.split(".");
  const previous: string[] = [];
  let current = root;
  for (;;) {
    let part = parts.shift()!;
    while (NO_DIRECT_SUB_NESTING.has([...previous, part].join(".")) && parts.length > 0) part += "." + parts.shift();
    if (parts.length === 0) return { parent: current, leaf: part };
    if (!Object.hasOwn(current, part)) {
      const next: Nested = {};
      current[part] = next;
      current = next;
    } else {
      const value = current[part];
      if (Array.isArray(value) || value == null || typeof value !== "object") {
        // Occupied by a value: this key continues as one dotted name at this level.
        parts.unshift(part + "." + parts.shift());
        continue;
      }
      current = value as Nested;
    }
    previous.push(part);
  }
}

function flatten(parent: Nested, key: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "object" || Array.isArray(value) || value === null) {
    parent[key] = value;
    return;
  }
  for (const [subKey, subValue] of Object.entries(value)) {
    const joined = key + "." + subKey;
    if (Object.hasOwn(parent, joined)) {
      const current = parent[joined];
      delete parent[joined];
      flatten(parent, joined, current);
    }
    parent[joined] = subValue;
  }
}
