/** Free space on the blobs' file system: the one place that asks statfs, for the check before a download and its errors. */
import fs from "node:fs/promises";
import type { StatFs } from "./download-types.js";
import { InsufficientStorageError } from "../hub-errors.js";

/** Free bytes on `dir`'s file system, or undefined where statfs is unsupported. */
export async function freeBytes(dir: string, statfs: StatFs = (d) => fs.statfs(d)): Promise<number | undefined> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/** Throw InsufficientStorageError when `needed` bytes will not fit in `blobsDir` (unknown free space passes). */
export async function checkFreeSpace(needed: number, blobsDir: string, statfs: StatFs | undefined): Promise<void> {
  if (needed <= 0) return;
  // Unknown (statfs unsupported): the write itself will report ENOSPC.
  const free = await freeBytes(blobsDir, statfs);
  if (free !== undefined && needed > free) throw new InsufficientStorageError(needed, free, blobsDir);
}
