/** The free-space check a download makes before its first byte. */
import fs from "node:fs/promises";
import type { StatFs } from "./download-types.js";
import { InsufficientStorageError } from "../hub-errors.js";

/** Throw InsufficientStorageError when `needed` bytes will not fit in `blobsDir` (unknown free space passes). */
export async function checkFreeSpace(needed: number, blobsDir: string, statfsOption: StatFs | undefined): Promise<void> {
  if (needed <= 0) return;
  const statfs = statfsOption ?? ((dir: string) => fs.statfs(dir));
  let free: number;
  try {
    const s = await statfs(blobsDir);
    free = Number(s.bavail) * Number(s.bsize);
  } catch {
    return; // statfs unsupported: the write itself will report ENOSPC.
  }
  if (needed > free) throw new InsufficientStorageError(needed, free, blobsDir);
}
