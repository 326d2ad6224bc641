/**
 * `mlxm import`: a GGUF already on disk becomes a local model. The file (every part of a split one) is validated
 * exactly as a pulled file is, hashed, and then copied or moved into the content-addressed blob store, or linked
 * where it is (its size and mtime recorded, so a later change is refused). The model becomes visible in one
 * transaction at the end; on any failure, including cancellation, nothing it created stays behind and a moved file
 * is put back.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { ImportMode, ImportProgress } from "../../protocol/library.js";
import { badRequest, HttpError, notFound } from "../errors.js";
import type { ModelDescription } from "../hub/pull/pull-types.js";
import type { ModelFileInput, ModelRow, ModelsRepo } from "../store/repos/models-repo.js";
import { deleteReplacedBlobs } from "../engine/model-deletion.js";
import { hashFile } from "./file-hash.js";
import { defaultModelName, normaliseModelName, splitPartPaths } from "./split-names.js";

export interface GgufImportDeps {
  models: ModelsRepo;
  /** `MLXM_HOME/blobs`. */
  blobsDir: string;
  /** The path a blob with this sha256 gets. */
  blobPath: (sha256: string) => string;
  /** The pull's validator and describer: throws `InvalidModelError` with the reason for a file llama.cpp must not load. */
  describeModel: (path: string, allPaths: string[]) => Promise<ModelDescription>;
  /** Write copies past the page cache where the file system allows it (MLXM_PULL_DIRECT_IO). Default true. */
  directIo?: boolean;
}

export interface ImportOptions {
  path: string;
  name?: string;
  mode: ImportMode;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
}

/** One file being imported, and what was done to it (for the undo on failure). */
interface Part {
  source: string;
  filename: string;
  size: number;
  mtimeMs: number;
  sha256?: string;
  /** Where it ends up. */
  stored?: string;
  /** A blob this import created (deleted again on failure). */
  createdBlob?: boolean;
  /** The source was renamed into the store (renamed back on failure). */
  renamed?: boolean;
}

/** See the module comment. Returns the new model's row. */
export async function importGguf(deps: GgufImportDeps, options: ImportOptions): Promise<ModelRow> {
  const progress = options.onProgress ?? (() => {});
  if (!path.isAbsolute(options.path)) throw badRequest("path must be absolute", "path");
  const name = normaliseModelName(options.name ?? defaultModelName(options.path));
  if (!name) throw badRequest(`"${options.name}" is not a valid model name (letters, digits and . _ : / -)`, "name");
  if (await deps.models.findByName(name)) {
    throw new HttpError("conflict", `a model named "${name}" already exists; choose another with --name or remove it first`, { name });
  }

  const parts: Part[] = [];
  for (const source of splitPartPaths(options.path)) {
    const st = await fs.stat(source).catch(() => undefined);
    if (!st) throw notFound(source === options.path ? `no such file: ${source}` : `a part of this split model is missing: ${source}`);
    if (!st.isFile()) throw badRequest(`not a file: ${source}`, "path");
    parts.push({ source, filename: path.basename(source), size: st.size, mtimeMs: st.mtimeMs });
  }

  // The same checks as a pulled file, before any byte is copied: a bad file is refused with the validator's reason
  // (and before the first progress line, so an HTTP caller gets it as a 422).
  await deps.describeModel(parts[0]!.source, parts.map((p) => p.source));

  await fs.mkdir(deps.blobsDir, { recursive: true });
  try {
    for (const part of parts) {
      await storePart(deps, part, options);
      options.signal?.throwIfAborted();
    }
    progress({ status: "writing manifest" });
    // Described again from where it now lives: this is the content that was hashed.
    const description = await deps.describeModel(parts[0]!.stored!, parts.map((p) => p.stored!));
    const files: ModelFileInput[] = parts.map((p) => ({
      filename: p.filename,
      digest: `sha256:${p.sha256}`,
      sizeBytes: p.size,
      path: p.stored!,
      ...(options.mode === "link" ? { linked: { mtimeMs: p.mtimeMs } } : {}),
    }));
    const row = await deps.models.upsert(
      {
        name,
        source: "local",
        repo: null,
        revision: null,
        quant: typeof description.details?.quantization === "string" ? description.details.quantization : null,
        format: "gguf",
        family: description.family ?? null,
        parameter_size: description.parameterSize ?? null,
        context_length: description.contextLength ?? null,
        size_bytes: parts.reduce((n, p) => n + p.size, 0),
        digest: files[0]!.digest,
        details_json: JSON.stringify({
          ...description.details,
          imported_from: options.path,
          import_mode: options.mode,
          files: parts.map((p) => p.filename),
        }),
      },
      files,
    );
    // Imported under a name that had other files: those nothing else uses go.
    await deleteReplacedBlobs(deps.models);
    // A moved file left another file system by copy: the original goes only once the model is safely recorded.
    if (options.mode === "move") {
      for (const p of parts) if (!p.renamed) await fs.rm(p.source, { force: true });
    }
    progress({ status: "success", name });
    return row;
  } catch (err) {
    await undo(parts);
    throw err;
  }
}

/** Hash one part and put it where the mode says, recording what was done. */
async function storePart(deps: GgufImportDeps, part: Part, options: ImportOptions): Promise<void> {
  const progress = options.onProgress ?? (() => {});
  const status = `hashing ${part.filename}`;
  const onProgress = (p: { completed: number; total: number }) => progress({ status, file: part.filename, total: p.total, completed: p.completed });
  if (options.mode === "copy") {
    const temp = path.join(deps.blobsDir, `import-${randomBytes(8).toString("hex")}.tmp`);
    try {
      const { sha256 } = await hashFile(part.source, { copyTo: temp, signal: options.signal, onProgress, directIo: deps.directIo });
      part.sha256 = sha256;
      part.stored = deps.blobPath(sha256);
      if (await exists(part.stored)) {
        await fs.rm(temp, { force: true });
      } else {
        await fs.rename(temp, part.stored);
        part.createdBlob = true;
      }
    } finally {
      await fs.rm(temp, { force: true });
    }
    return;
  }

  const { sha256 } = await hashFile(part.source, { signal: options.signal, onProgress });
  part.sha256 = sha256;
  const st = await fs.stat(part.source);
  if (st.size !== part.size || st.mtimeMs !== part.mtimeMs) {
    throw new HttpError("conflict", `${part.source} changed while it was being imported; try again`);
  }
  if (options.mode === "link") {
    const known = await deps.models.findBlob(`sha256:${sha256}`);
    // The same content already in the store (owned by mlxm): use that copy rather than the user's file.
    part.stored = known && !known.linked ? known.path : part.source;
    return;
  }
  part.stored = deps.blobPath(sha256);
  if (await exists(part.stored)) return;
  try {
    await fs.rename(part.source, part.stored);
    part.renamed = true;
    part.createdBlob = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    // Another file system: copy (checking the copy is the content that was hashed), remove the original at the end.
    const temp = path.join(deps.blobsDir, `import-${randomBytes(8).toString("hex")}.tmp`);
    try {
      const copy = await hashFile(part.source, { copyTo: temp, signal: options.signal, onProgress, directIo: deps.directIo });
      if (copy.sha256 !== sha256) throw new HttpError("conflict", `${part.source} changed while it was being imported; try again`);
      await fs.rename(temp, part.stored);
      part.createdBlob = true;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }
}

/** Put everything back as it was: moved files return, blobs this import created go. */
async function undo(parts: Part[]): Promise<void> {
  for (const p of parts) {
    try {
      if (p.renamed && p.stored) await fs.rename(p.stored, p.source);
      else if (p.createdBlob && p.stored) await fs.rm(p.stored, { force: true });
    } catch {
      // Best effort: the original error is what the caller needs to see.
    }
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}
