/**
 * Moving a pull's bytes: the free-space check, then each planned file from the Hugging Face cache when a verified
 * copy is there, else downloaded into the blob store, with progress published to the pull's followers and written
 * to its row (at most once a second).
 */
import type { Logger } from "pino";
import type { BlobStore } from "../download/blob-store.js";
import type { DownloadProgress } from "../download/downloader.js";
import { InsufficientStorageError } from "../hub-errors.js";
import type { PullTask } from "./pull-task.js";
import { addStats, type PullManagerDeps, type PullPlan, type PullStats } from "./pull-types.js";

const PROGRESS_DB_INTERVAL_MS = 1000;

/** What moving the bytes needs from the pull manager. */
export interface TransferDeps {
  hub: PullManagerDeps["hub"];
  pulls: PullManagerDeps["pulls"];
  localCopy: PullManagerDeps["localCopy"];
  blobs: BlobStore;
  log: Logger;
}

/** A planned file once it is in the blob store. */
export interface PlanFile {
  filename: string;
  digest: string;
  size: number;
  path: string;
}

/** Refuses a plan whose missing bytes exceed the free space of the blob store's disk. */
export async function checkSpace(blobs: BlobStore, plan: PullPlan): Promise<void> {
  let needed = 0;
  for (const f of plan.files) needed += f.size - (await blobs.bytesPresent(f));
  if (needed <= 0) return;
  const free = await blobs.freeBytes();
  if (free !== undefined && needed > free) throw new InsufficientStorageError(needed, free, blobs.dir);
}

/** Download the plan's files one after another (each with parallel chunks); returns their blob paths. */
export async function downloadPlan(
  deps: TransferDeps,
  { task, plan, rowId, stats, signal }: { task: PullTask; plan: PullPlan; rowId: number; stats: PullStats; signal: AbortSignal },
): Promise<PlanFile[]> {
  const hub = deps.hub;
  const paths: PlanFile[] = [];
  let doneBytes = 0;
  let lastDbWrite = 0;
  let dbChain: Promise<unknown> = Promise.resolve();
  let verifying = false;
  for (const [i, f] of plan.files.entries()) {
    const label = f.sha256 ?? f.gitSha1!;
    const digest = f.sha256 ? `sha256:${f.sha256}` : `gitsha1:${f.gitSha1}`;
    const status = `pulling ${label.slice(0, 12)}`;
    const last = i === plan.files.length - 1;
    let reported = -1;
    const onProgress = (p: DownloadProgress) => {
      reported = p.completed;
      task.fanout.publish({ status, digest, total: f.size, completed: p.completed });
      if (p.phase === "verifying" && last && !verifying) {
        // Earlier files were verified as they finished; the last file's check is the wait the user sees.
        verifying = true;
        task.fanout.publish({ status: "verifying sha256 digest" });
        dbChain = dbChain.then(() => deps.pulls.update(rowId, { status: "verifying" }));
      }
      const now = performance.now();
      if (now - lastDbWrite >= PROGRESS_DB_INTERVAL_MS) {
        lastDbWrite = now;
        const completed = doneBytes + p.completed;
        dbChain = dbChain.then(() => deps.pulls.update(rowId, { completed_bytes: completed })).catch(() => undefined);
      }
    };
    task.fanout.publish({ status, digest, total: f.size, completed: 0 });
    const local = await fromLocalCopy(deps, plan, f, signal, (completed) => task.fanout.publish({ status, digest, total: f.size, completed }));
    if (local) {
      stats.resumedFrom += f.size;
      stats.reusedBytes += f.size;
      doneBytes += f.size;
      task.fanout.publish({ status, digest, total: f.size, completed: f.size });
      paths.push({ filename: f.filename, digest, size: f.size, path: local });
      continue;
    }
    // Rebuilt rather than taken from the plan, so a resume uses the current HF_ENDPOINT (and token scope).
    const url = hub.fileUrl(plan.repo, plan.commit, f.filename);
    const result = await deps.blobs.fetch(
      {
        url,
        headers: hub.headersFor(url),
        size: f.size,
        sha256: f.sha256,
        gitSha1: f.gitSha1,
        label: f.filename,
        errorFromResponse: (res) => hub.errorFromResponse(res, { repo: plan.repo, revision: plan.commit, file: f.filename }),
      },
      { signal, onProgress },
    );
    addStats(stats, result.stats);
    doneBytes += f.size;
    if (reported !== f.size) task.fanout.publish({ status, digest, total: f.size, completed: f.size });
    paths.push({ filename: f.filename, digest: result.digest, size: f.size, path: result.path });
  }
  await dbChain.catch(() => undefined);
  if (!verifying) task.fanout.publish({ status: "verifying sha256 digest" });
  return paths;
}

/**
 * The planned file from a local copy (the Hugging Face cache), when one exists with the right digest and the blob
 * store does not already have it. Only LFS files qualify: their sha256 is what the cache names blobs by.
 */
async function fromLocalCopy(deps: TransferDeps, plan: PullPlan, f: PullPlan["files"][number], signal: AbortSignal, onCompleted: (n: number) => void) {
  const localCopy = deps.localCopy;
  if (!localCopy || !f.sha256 || (await deps.blobs.bytesPresent(f)) === f.size) return undefined;
  try {
    const found = await localCopy.adopt(
      { repo: plan.repo, commit: plan.commit, filename: f.filename, sha256: f.sha256, size: f.size },
      { signal, onProgress: (p) => onCompleted(p.completed) },
    );
    if (found) deps.log.info({ pull: plan.name, file: f.filename }, "reused the file from the Hugging Face cache");
    return found;
  } catch (err) {
    if (signal.aborted) throw err;
    deps.log.warn({ pull: plan.name, file: f.filename, err: errorText(err) }, "could not reuse the Hugging Face cache; downloading");
    return undefined;
  }
}

/** An error's message, for logs and pull rows. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
