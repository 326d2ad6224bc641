/** Summing a file download's stats into its pull's. */
import type { DownloadStats } from "../download/download-types.js";
import type { PullStats } from "./pull-types.js";

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
}
