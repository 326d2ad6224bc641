/** The downloader's public shapes (request, options, progress, stats and result) and the options' defaults. */
import type { Logger } from "pino";

/** The file to download. */
export interface DownloadRequest {
  /**
   * URL for ranged GETs: the Hub's resolve URL. Its redirect to the CDN is followed, and the CDN's address then asked
   * directly until a request to it fails (it is resolved again then).
   */
  url: string;
  /** Request headers (e.g. from HubClient.headersFor: the token goes to the Hub origin only). */
  headers?: Record<string, string>;
  size: number;
  /** Expected sha256 (hex) of the content: LFS files have it. */
  sha256?: string;
  /** Expected git blob id (hex sha1) for files outside LFS, used when sha256 is unknown. */
  gitSha1?: string;
  /** Name for messages and logs (the file path in the repo). */
  label?: string;
  /** Map a non-2xx answer to a typed error (HubClient.errorFromResponse, given a bodiless Response); by default only 408/429/5xx are transient. */
  errorFromResponse?: (res: Response) => Error;
}

/** `statfs` as the downloader needs it (injectable to simulate a full disk). */
export type StatFs = (dir: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

/** Tuning and hooks; every field has a default. */
export interface DownloadOptions {
  /** Where blobs live (MLXM_HOME/blobs). Partial files and their sidecars live beside them. */
  blobsDir: string;
  /** Bytes per ranged request. Default 64 MiB. */
  chunkSize?: number;
  /** Parallel connections. Default 4. */
  concurrency?: number;
  /** Attempts per chunk without progress before the download fails. Default 8. */
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** No byte for this long aborts the connection and retries. Default 30 s. */
  stallTimeoutMs?: number;
  /** Record progress after this many new bytes (and at each chunk end). Default 8 MiB. */
  checkpointBytes?: number;
  /**
   * Each connection receives into a ring of batches this large (`writeBuffers` say how many): one fills while the
   * others are written (several at once) and hashed. The rings are what the connections may have received but not yet
   * written, so what a kill loses on top of kernel buffers; they also decide how long reading waits on the disk. With
   * one connection and two 1 MiB batches, reading waited on the disk for most of a loopback pull (2.0 of 2.5 s): one
   * write in flight at a time, each answered only after its batch was hashed. Measured on this project's 2-core VM
   * (1 GiB, loopback, durable, alternating runs): 4 x 4 MiB 2.09 s, 8 x 2 MiB 2.10 s, 4 x 2 MiB 2.23 s; with one
   * connection, 4 x 4 MiB 1.94 s against 2.46-2.77 s for 2 x 1 MiB. Default 4 MiB.
   */
  writeBufferBytes?: number;
  /**
   * Write batches (see writeBufferBytes) the connections' rings share: one connection gets them all, more split them
   * (each at least 2, see ringBatches). Default 4. Measured on a 1 GiB loopback pull (two connections at most): a
   * kill -9 at half way fetched again 31-70 and 8-56 MiB (two runs of 8 kills) shared, against 16-62 and 16-79 with
   * 4 batches per connection, in the same time (2.05 s against 2.13, 8 alternating rounds).
   */
  writeBuffers?: number;
  /**
   * While one connection is all a download has and it waits on its own side (the disk, the hash: its write ring
   * full for over a tenth of the time, connection-ramp.ts), one request covers up to this many queued chunks that
   * follow each other. Every request ends by waiting for its last writes and then a round trip before its first
   * byte, and the disk idles at each of those seams. A connection the network holds back keeps to one chunk: more
   * connections are about to join, and they share the queue. Default 4; 1 keeps every request to its chunk.
   */
  coalesceChunks?: number;
  /** Only split a slow connection's range when each half would be at least this big. Default 8 MiB. */
  minSplitBytes?: number;
  /**
   * Flush data to disk (fdatasync) behind the progress record, so a resume after power loss is exact too, and
   * before the finished blob is renamed into place. Default true.
   */
  durable?: boolean;
  /**
   * At most one data flush for the progress record per interval. Default 500 ms: frequent flushes keep the disk
   * busy during the download, so the flush before the rename has little left (measured on a 1 GiB loopback pull:
   * a 1.0-1.2 s final flush with 2000 ms, 0.14-0.23 s with 500 ms, the same download time).
   */
  durableIntervalMs?: number;
  /**
   * Write full batches past the page cache (O_DIRECT) where the file system allows it; elsewhere (older tmpfs, macOS)
   * and for unaligned pieces, through it. Default true: on this project's VM it wrote a GiB to the device in less
   * than half the time the page cache took to take it, and it leaves the flushes behind it with nothing to write
   * (see blob-writer.ts).
   */
  directIo?: boolean;
  /**
   * Where writes go through the page cache: batches that arrive ahead of the hashed prefix by less than this are
   * kept in memory until the hash reaches them, instead of being read back from the file: the memory a download may
   * hold for hashing. Default concurrency x chunkSize (every chunk in flight fits: 256 MiB with the defaults); 0
   * reads back every batch that arrives out of order. Past the page cache (`directIo`) nothing is kept: batches
   * are read back from the device (see blob-writer.ts).
   */
  hashWindowBytes?: number;
  statfs?: StatFs;
  signal?: AbortSignal;
  /** On cancel, delete the partial file instead of keeping it for a resume. */
  discardOnCancel?: boolean;
  onProgress?: (progress: DownloadProgress) => void;
  /** Minimum interval between progress callbacks. Default 100 ms. */
  progressIntervalMs?: number;
  logger?: Pick<Logger, "debug" | "warn">;
  random?: () => number;
}

/** A progress report. `completed` counts bytes on disk, including those from a previous run. */
export interface DownloadProgress {
  phase: "downloading" | "verifying";
  completed: number;
  total: number;
  /** Recent rate over the last few seconds. */
  bytesPerSecond: number;
}

/** What happened, for logs, spans and benchmarks. */
export interface DownloadStats {
  size: number;
  /** Bytes fetched and written in this run. */
  bytesDownloaded: number;
  /** Bytes already on disk from an earlier run when this one started. */
  resumedFrom: number;
  /** The blob was already present: nothing downloaded. */
  reused: boolean;
  retries: number;
  stalls: number;
  /** Times an idle connection took over half of a slow one's range. */
  splits: number;
  /** Progress records saved, and of those flushed to disk. */
  checkpoints: number;
  durableCheckpoints: number;
  downloadMs: number;
  /** Time from the last byte written to the digest known. */
  verifyMs: number;
  /** Time the writer thread spent writing, reading back and hashing (off the thread that receives the bytes). */
  hashMs: number;
  /** Bytes hashed from memory as they were written; the rest of the file was read back to be hashed. */
  hashedInMemory: number;
  /** Bytes written past the page cache (O_DIRECT). */
  writtenDirect: number;
  /** Bytes read back past the page cache (O_DIRECT) to be hashed. */
  readBackDirect: number;
  /** The most connections open at once (connection-ramp.ts). */
  connections: number;
}

/** A finished, verified blob. */
export interface DownloadResult {
  /** `sha256:<hex>` */
  digest: string;
  path: string;
  size: number;
  stats: DownloadStats;
}

/** Every tuning option with its default filled in (the hooks stay optional). */
export type ResolvedDownloadOptions = Required<Omit<DownloadOptions, "signal" | "onProgress" | "logger" | "statfs" | "discardOnCancel">>;

const MiB = 1024 * 1024;

/**
 * Batches in one connection's ring while `connections` are open: `writeBuffers` shared between them, at least 2 each
 * (one filling, one being written). A ring is sized when its range starts, so the rings of ranges started before a
 * connection was added keep their size until those ranges end.
 */
export function ringBatches(writeBuffers: number, connections: number): number {
  return Math.max(2, Math.floor(writeBuffers / Math.max(1, connections)));
}

/** The defaults the options above document. */
export function resolveDownloadOptions(options: DownloadOptions): ResolvedDownloadOptions {
  const chunkSize = options.chunkSize ?? 64 * MiB;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  return {
    blobsDir: options.blobsDir,
    chunkSize,
    concurrency,
    maxAttempts: options.maxAttempts ?? 8,
    retryBaseMs: options.retryBaseMs ?? 500,
    retryMaxMs: options.retryMaxMs ?? 30_000,
    stallTimeoutMs: options.stallTimeoutMs ?? 30_000,
    checkpointBytes: options.checkpointBytes ?? 8 * MiB,
    writeBufferBytes: options.writeBufferBytes ?? 4 * MiB,
    writeBuffers: options.writeBuffers ?? 4,
    minSplitBytes: options.minSplitBytes ?? 8 * MiB,
    coalesceChunks: Math.max(1, options.coalesceChunks ?? 4),
    durable: options.durable ?? true,
    durableIntervalMs: options.durableIntervalMs ?? 500,
    directIo: options.directIo ?? true,
    progressIntervalMs: options.progressIntervalMs ?? 100,
    // Every chunk in flight fits: then no byte has to be read back to be hashed.
    hashWindowBytes: options.hashWindowBytes ?? concurrency * chunkSize,
    random: options.random ?? Math.random,
  };
}
