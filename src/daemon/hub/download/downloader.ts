/**
 * Downloads one file into a content-addressed blob (`<blobsDir>/sha256-<hex>`), dependably:
 * - parallel ranged GETs (chunks of `chunkSize`, `concurrency` at a time) through a lean HTTP client that reads
 *   straight into write batches (range-client.ts); an idle connection takes over half the range of a slow one, so
 *   the last percent never waits on one slow socket; the last chunks of a big file are quarter chunks, so little is
 *   left to hash after the last byte (byte-ranges.ts, splitWithFinerTail);
 * - per-chunk retries with exponential backoff and jitter, resuming from the last written byte of the chunk;
 * - a stall timeout: a connection that delivers no byte for `stallTimeoutMs` is dropped and retried;
 * - resumable across crashes: written ranges are recorded in a sidecar (see partial-progress.ts) every
 *   `checkpointBytes` and at every chunk end, so a `kill -9` loses at most the bytes since the last record; a data
 *   flush (fdatasync) makes them durable against power loss too, at most every `durableIntervalMs`;
 * - verified: the sha256 is computed while downloading, on the worker thread that also writes the file
 *   (blob-writer.ts), and compared at the end; a mismatch deletes the data and throws DigestMismatchError; the
 *   blob lands by an atomic rename only when it matches (after a data flush, when durable, so a power loss never
 *   leaves a "verified" blob with holes);
 * - a blob already present is not downloaded again; free disk space is checked before the first byte;
 * - cancellable through an AbortSignal (the partial file is kept for a later resume unless discarded).
 */
import { Download } from "./blob-download.js";
import type { DownloadOptions, DownloadRequest, DownloadResult } from "./download-types.js";

export { blobPath, discardPartial, partialPath } from "./blob-paths.js";
export type {
  DownloadOptions,
  DownloadProgress,
  DownloadRequest,
  DownloadResult,
  DownloadStats,
  StatFs,
} from "./download-types.js";

/** Download `request` into `options.blobsDir`; see the module comment. */
export async function downloadBlob(request: DownloadRequest, options: DownloadOptions): Promise<DownloadResult> {
  return new Download(request, options).run();
}
