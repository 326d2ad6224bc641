/**
 * Removing a stored model: its rows go in one store transaction, then the blobs no other model uses are deleted
 * from disk, with the link folder a split model's parts got (split-files.ts), which is named after its first blob.
 */
import fs from "node:fs/promises";
import type { ModelsRepo } from "../store/repos/models-repo.js";
import type { Store } from "../store/store.js";
import { splitLinkDir } from "./split-files.js";

/** Delete `name`'s rows and its orphaned files; returns the bytes freed (0 when it was not stored). */
export async function deleteStoredModel(store: Store, name: string): Promise<number> {
  const { orphanBlobs } = await store.models.delete(name);
  return deleteBlobFiles(orphanBlobs);
}

/** After a model was replaced under its name: delete the files of blobs no model uses any more. */
export async function deleteReplacedBlobs(models: Pick<ModelsRepo, "takeOrphanBlobs">): Promise<number> {
  return deleteBlobFiles(await models.takeOrphanBlobs());
}

async function deleteBlobFiles(blobs: readonly { digest: string; path: string }[]): Promise<number> {
  let freed = 0;
  for (const blob of blobs) {
    freed += (await fs.stat(blob.path).catch(() => undefined))?.size ?? 0;
    await fs.rm(blob.path, { force: true });
    await fs.rm(splitLinkDir(blob), { recursive: true, force: true });
  }
  return freed;
}
