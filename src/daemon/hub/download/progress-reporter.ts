/** A download's progress callback, at most once per interval, with the rate over the last few seconds. */
import type { DownloadProgress } from "./download-types.js";

/** The rate is measured over this much of the recent past. */
const RATE_SPAN_MS = 3000;

export class ProgressReporter {
  #lastAt = 0;
  #samples: { t: number; bytes: number }[] = [];

  constructor(
    private readonly onProgress: ((progress: DownloadProgress) => void) | undefined,
    private readonly intervalMs: number,
  ) {}

  /**
   * Report `completed` of `total` bytes on disk in `phase`; `downloaded` counts this run's bytes (the rate's). Skipped
   * within the interval of the last report unless `force`.
   */
  report(phase: DownloadProgress["phase"], completed: number, total: number, downloaded: number, force = false): void {
    const cb = this.onProgress;
    if (!cb) return;
    const t = performance.now();
    if (!force && t - this.#lastAt < this.intervalMs) return;
    this.#lastAt = t;
    this.#samples.push({ t, bytes: downloaded });
    while (this.#samples.length > 2 && t - this.#samples[0].t > RATE_SPAN_MS) this.#samples.shift();
    const first = this.#samples[0];
    const dt = (t - first.t) / 1000;
    const bytesPerSecond = dt > 0 ? (downloaded - first.bytes) / dt : 0;
    try {
      cb({ phase, completed, total, bytesPerSecond: Math.round(bytesPerSecond) });
    } catch {
      // A listener's failure must not break the download.
    }
  }
}
