/**
 * Removing a stored model: its rows go in one store transaction, then the blobs no other model uses are deleted
 * from disk, with the link folder a split model's parts got (split-files.ts), which is named after its first blob.
 */
import fs from "node:fs/promises";
import type { Store } from "../store/store.js";
import { splitLinkDir } from "./split-files.js";

/** Delete `name`'s rows and its orphaned files; returns the bytes freed (0 when it was not stored). */
export async function deleteStoredModel(store: Store, name: string): Promise<number> {
  const { orphanBlobs } = await store.models.delete(name);
  let freed = 0;
  for (const blob of orphanBlobs) {
    freed += (await fs.stat(blob.path).catch(() => undefined))?.size ?? 0;
    await fs.rm(blob.path, { force: true });
    await fs.rm(splitLinkDir(blob), { recursive: true, force: true });
  }
  return freed;
}
