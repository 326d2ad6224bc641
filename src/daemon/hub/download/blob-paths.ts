/** Where blobs and partial downloads live on disk, and how a partial is discarded. */
import fs from "node:fs/promises";
import path from "node:path";
import type { DownloadRequest } from "./download-types.js";
import { progressPathOf } from "./partial-progress.js";

/** The blob path for a sha256. */
export function blobPath(blobsDir: string, sha256: string): string {
  return path.join(blobsDir, `sha256-${sha256}`);
}

/** The partial file of a download in progress (Ollama's naming); its sidecar is `<partial>.progress.json`. */
export function partialPath(blobsDir: string, request: Pick<DownloadRequest, "sha256" | "gitSha1">): string {
  if (request.sha256) return path.join(blobsDir, `sha256-${request.sha256}-partial`);
  return path.join(blobsDir, `gitsha1-${request.gitSha1}-partial`);
}

/** Delete a partial download and its sidecar. */
export async function discardPartial(blobsDir: string, request: Pick<DownloadRequest, "sha256" | "gitSha1">): Promise<void> {
  const partial = partialPath(blobsDir, request);
  await fs.rm(partial, { force: true });
  await fs.rm(progressPathOf(partial), { force: true });
}
