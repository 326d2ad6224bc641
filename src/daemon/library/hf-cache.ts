/**
 * Reusing the Hugging Face cache (`huggingface-cli download`, `transformers`, llama.cpp's `-hf`): before a pull
 * downloads a file, it looks for the exact file at the resolved commit in the cache's layout
 * (`models--<org>--<repo>/snapshots/<commit>/<path>`, and the LFS blob named by its sha256 under `blobs/`) and takes it
 * into the blob store instead. The file is only used if its sha256 is the one the Hub published: a hard link when the
 * cache is on the same file system (no second copy of a multi-GB file), a copy otherwise, hashed either way.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { hashFile, type HashProgress } from "./file-hash.js";

/** The file a pull wants. */
export interface CachedFileRequest {
  repo: string;
  commit: string;
  filename: string;
  sha256: string;
  size: number;
}

export interface HfCacheOptions {
  /** The hub cache directory (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  dir: string;
  /** `MLXM_HOME/blobs`. */
  blobsDir: string;
  blobPath: (sha256: string) => string;
  /** Write a copy past the page cache where the file system allows it (MLXM_PULL_DIRECT_IO). Default true. */
  directIo?: boolean;
}

/** See the module comment. */
export class HfCache {
  constructor(private readonly options: HfCacheOptions) {}

  /** Where the cache would keep this file, most specific first. */
  candidates(file: CachedFileRequest): string[] {
    const repoDir = path.join(this.options.dir, `models--${file.repo.split("/").join("--")}`);
    return [path.join(repoDir, "snapshots", file.commit, ...file.filename.split("/")), path.join(repoDir, "blobs", file.sha256)];
  }

  /**
   * Take the file from the cache into the blob store. Returns the blob's path, or undefined when the cache has no
   * file of the right size and digest (a mismatch is not an error: the pull downloads instead).
   */
  async adopt(file: CachedFileRequest, options: { signal?: AbortSignal; onProgress?: (p: HashProgress) => void } = {}): Promise<string | undefined> {
    for (const candidate of this.candidates(file)) {
      // Snapshots are symlinks into `blobs/`; a hard link must be made to the file itself, not to the link.
      const real = await fs.realpath(candidate).catch(() => undefined);
      const st = real ? await fs.stat(real).catch(() => undefined) : undefined;
      if (!real || !st?.isFile() || st.size !== file.size) continue;
      const found = await this.#take(real, file, options);
      if (found) return found;
    }
    return undefined;
  }

  async #take(source: string, file: CachedFileRequest, options: { signal?: AbortSignal; onProgress?: (p: HashProgress) => void }) {
    await fs.mkdir(this.options.blobsDir, { recursive: true });
    const temp = path.join(this.options.blobsDir, `hf-cache-${randomBytes(8).toString("hex")}.tmp`);
    try {
      let linked = true;
      // A hard link shares the cache's bytes; it is hashed below like a copy, so a bad cache entry is never used.
      await fs.link(source, temp).catch(() => {
        linked = false;
      });
      const { sha256 } = linked
        ? await hashFile(temp, { signal: options.signal, onProgress: options.onProgress })
        : await hashFile(source, { copyTo: temp, signal: options.signal, onProgress: options.onProgress, directIo: this.options.directIo });
      if (sha256 !== file.sha256) return undefined;
      const blob = this.options.blobPath(file.sha256);
      await fs.rename(temp, blob);
      return blob;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }
}
