/**
 * A model's GGUF files read once with mlxm's own reader and validated, before anything of node-llama-cpp or
 * llama.cpp opens them: some defects (a llama model without `llama.attention.head_count`) abort the whole process
 * inside llama.cpp, and node-llama-cpp's reader trusts the lengths in the file (see llama-gguf-info.ts).
 */
import { stat } from "node:fs/promises";
import { InvalidModelError } from "./errors.js";
import { assertValidGguf, readGgufFile, type GgufFileInfo } from "./gguf/index.js";
import { modelFileParts, toLlamaGgufFileInfo, type LlamaGgufFileInfo } from "./llama-gguf-info.js";
import type { EngineModelSpec } from "./model-spec.js";

/** Reads one GGUF header; mlxm's reader unless a test injects one (to count reads). */
export type GgufHeaderReader = (path: string) => Promise<GgufFileInfo>;

export interface CheckedModelFile {
  /** The same headers in node-llama-cpp's shape, for `GgufInsights`. */
  info: LlamaGgufFileInfo;
  /** The files' identity when they were read (see {@link fileIdentity}). */
  identity: string;
}

/**
 * Reads every part of `spec`'s model once and validates the metadata (the first part holds it all). Problems come
 * back as an `InvalidModelError` naming the model, without the local path.
 */
export async function checkModelFile(spec: EngineModelSpec, read: GgufHeaderReader = readGgufFile): Promise<CheckedModelFile> {
  const paths = modelFileParts(spec.path);
  try {
    // Taken before reading: a file replaced while it is read then reads as changed later.
    const identity = await fileIdentity(paths);
    const parts: GgufFileInfo[] = [];
    for (const part of paths) parts.push(await read(part));
    assertValidGguf(parts[0]!);
    return { info: toLlamaGgufFileInfo(spec.path, parts), identity };
  } catch (err) {
    if (err instanceof InvalidModelError) {
      const first = err.problems[0] ?? err.message;
      const more = err.problems.length > 1 ? ` (and ${err.problems.length - 1} more)` : "";
      throw new InvalidModelError(`model "${spec.name}" is not a usable GGUF file: ${first}${more}`, err.problems, spec.path);
    }
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new InvalidModelError(`the file of model "${spec.name}" is missing; pull it again`, undefined, spec.path);
    }
    throw err;
  }
}

/**
 * Device, inode, size and modification times of `spec`'s files: a stat, not a parse. Equal identities mean the files
 * checked earlier are still the ones on disk; undefined when one is gone.
 */
export async function currentIdentity(spec: EngineModelSpec): Promise<string | undefined> {
  return fileIdentity(modelFileParts(spec.path)).catch(() => undefined);
}

async function fileIdentity(paths: readonly string[]): Promise<string> {
  const stats = await Promise.all(paths.map((p) => stat(p, { bigint: true })));
  return stats.map((s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`).join("|");
}
