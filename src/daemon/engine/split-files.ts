/**
 * Split GGUFs (`name-00001-of-00003.gguf`, …) for llama.cpp. Pulled files are stored by digest, but llama.cpp
 * finds the other parts of a split model by the first part's file name, so the parts get a directory of links
 * under their original names, and the engine opens the first link.
 */
import fs from "node:fs/promises";
import path from "node:path";

export interface StoredPart {
  filename: string;
  path: string;
  digest: string;
}

/** The folder of links for a split model whose first part is `first` (deleting that blob removes it too). */
export function splitLinkDir(first: { path: string; digest: string }): string {
  return path.join(path.dirname(first.path), "splits", first.digest.replace(/^sha256:/, ""));
}

/** The path llama.cpp should open: the blob itself for a one-file model, else the first part's link. */
export async function loadablePath(parts: StoredPart[]): Promise<string> {
  const first = parts[0];
  if (!first) throw new Error("a model needs at least one file");
  if (parts.length === 1) return first.path;
  const dir = splitLinkDir(first);
  await fs.mkdir(dir, { recursive: true });
  for (const part of parts) {
    const link = path.join(dir, path.basename(part.filename));
    const current = await fs.readlink(link).catch(() => undefined);
    if (current === part.path) continue;
    await fs.rm(link, { force: true });
    await fs.symlink(part.path, link);
  }
  return path.join(dir, path.basename(first.filename));
}
