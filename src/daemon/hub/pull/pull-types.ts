/** The pull manager's public shapes: progress lines, dependencies, options, stats, summaries and the stored plan. */
import type { Logger } from "pino";
import type { ModelRow, ModelsRepo } from "../../store/repos/models-repo.js";
import type { PullsRepo } from "../../store/repos/pulls-repo.js";
import type { BlobDownloadDefaults } from "../download/blob-store.js";
import type { HubClient } from "../hf-client.js";
import type { ModelRefOptions } from "../model-ref.js";
import type { DownloadStats } from "../download/download-types.js";

/**
 * One line of `/api/pull` progress, in Ollama's shape: `{status}` for phases, plus `digest`, `total` and
 * `completed` while a file downloads (`status: "pulling <first 12 hex of the digest>"`). mlxm adds one line after
 * the manifest, `{status: "selected <name>", name, reason}`, saying which file was chosen and why.
 */
export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
  /** mlxm extra on the "selected" line: the model's local name. */
  name?: string;
  /** mlxm extra on the "selected" line: why this file (e.g. "Q4_K_M is the default quantisation"). */
  reason?: string;
}

/** What `describeModel` returns (GGUF metadata); every field optional. */
export interface ModelDescription {
  family?: string | null;
  parameterSize?: string | null;
  contextLength?: number | null;
  /** Extra metadata kept in `details_json`. */
  details?: Record<string, unknown>;
}

/** Dependencies, injected (the daemon composes them; tests pass fakes or real ones on a temp home). */
export interface PullManagerDeps {
  pulls: PullsRepo;
  models: ModelsRepo;
  /** MLXM_HOME; blobs go to `<home>/blobs`. */
  home: string;
  hub: HubClient;
  logger: Logger;
  /** Called once a model is visible in the store. */
  onModelReady?: (model: ModelRow) => void | Promise<void>;
  /** Reads GGUF metadata of the first file (the engine's GGUF reader); the model's paths in part order follow. */
  describeModel?: (path: string, allPaths: string[]) => Promise<ModelDescription>;
  /** Called when any pull ends (completed, failed, cancelled or interrupted), with its stats: for spans and metrics. */
  onPullFinished?: (summary: PullSummary) => void;
  /**
   * A local copy of a planned file to take instead of downloading it (the Hugging Face cache): returns the blob path
   * once the file is in the blob store with the expected sha256, or undefined to download.
   */
  localCopy?: {
    adopt(
      file: { repo: string; commit: string; filename: string; sha256: string; size: number },
      options: { signal?: AbortSignal; onProgress?: (p: { completed: number; total: number }) => void },
    ): Promise<string | undefined>;
  };
  /** Download tuning: chunk size, concurrency, timeouts, statfs (tests inject a full disk), durable. */
  download?: BlobDownloadDefaults;
}

/** Options of one pull request. */
export interface PullOptions extends ModelRefOptions {
  /** Aborting detaches this caller only; the pull continues (use `cancel()` to stop it). */
  signal?: AbortSignal;
  /**
   * The caller's Hugging Face token, used instead of the daemon's (HF_TOKEN) for a pull this call starts; a caller
   * that joins a pull already running does not change it. Never stored: a pull resumed after a restart uses the
   * daemon's.
   */
  hubToken?: string;
}

/** Counters of one pull (summed over its files). */
export interface PullStats {
  files: number;
  totalBytes: number;
  /** Bytes fetched from the network by this run. */
  bytesDownloaded: number;
  /** Bytes already on disk when this run started (partials of an earlier run and blobs already present). */
  resumedFrom: number;
  /** Of which bytes in blobs that were already complete. */
  reusedBytes: number;
  retries: number;
  stalls: number;
  splits: number;
  downloadMs: number;
  verifyMs: number;
  hashMs: number;
  /** Bytes hashed from memory as they arrived (the rest were read back from the file). */
  hashedInMemory: number;
  /** Bytes written past the page cache (O_DIRECT). */
  writtenDirect: number;
  /** Bytes read back past the page cache (O_DIRECT) to be hashed. */
  readBackDirect: number;
  /** The most connections one file was fetched over at once (connection-ramp.ts). */
  connections: number;
  durationMs: number;
}

/** How a pull ended. */
export interface PullSummary {
  name?: string;
  ref: string;
  status: "completed" | "failed" | "cancelled" | "interrupted";
  repo?: string;
  commit?: string;
  quant?: string | null;
  reason?: string;
  stats: PullStats;
  model?: ModelRow;
  error?: unknown;
}

/** What `pull()` returns: iterate it for progress; `result` settles when the pull ends (rejects if it fails). */
export interface PullHandle extends AsyncIterable<PullProgress> {
  readonly result: Promise<PullSummary>;
}

/** The plan stored in `pulls.plan_json`: enough to resume without asking the Hub again. */
export interface PullPlan {
  version: 1;
  name: string;
  repo: string;
  /** The revision asked for, and the commit it resolved to (every file is fetched from that commit). */
  revision: string;
  commit: string;
  quant: string | null;
  reason: string;
  request: { ref: string; file?: string; revision?: string };
  totalBytes: number;
  files: PlannedFile[];
}

/** One file of a plan. */
export interface PlannedFile {
  filename: string;
  size: number;
  sha256?: string;
  /** Git blob id, for files outside LFS (no sha256 published). */
  gitSha1?: string;
  url: string;
}

/** Add one file's download stats to the pull's totals. */
export function addStats(total: PullStats, s: DownloadStats): void {
  total.bytesDownloaded += s.bytesDownloaded;
  total.resumedFrom += s.resumedFrom;
  if (s.reused) total.reusedBytes += s.size;
  total.retries += s.retries;
  total.stalls += s.stalls;
  total.splits += s.splits;
  total.downloadMs += s.downloadMs;
  total.verifyMs += s.verifyMs;
  total.hashMs += s.hashMs;
  total.hashedInMemory += s.hashedInMemory;
  total.writtenDirect += s.writtenDirect;
  total.readBackDirect += s.readBackDirect;
  total.connections = Math.max(total.connections, s.connections);
}
