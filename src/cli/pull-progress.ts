/**
 * Showing pull progress three ways: a bar per file with speed and ETA on a terminal (cli-progress), a plain line
 * now and then when output goes to a log (no control codes leaking into CI logs), NDJSON with --json.
 */
import cliProgress from "cli-progress";
import type { PullProgress } from "../protocol/pull.js";
import { formatBytes, formatDuration } from "./render.js";

export interface ProgressView {
  update(p: PullProgress): void;
  stop(): void;
}

export function createProgressView(mode: "tty" | "plain" | "json", out: (line: string) => void): ProgressView {
  if (mode === "json") return { update: (p) => out(JSON.stringify(p)), stop: () => {} };
  return mode === "tty" ? new BarView() : new PlainView(out);
}

/** Speed from a sliding window of samples, so one stalled second does not swing the ETA wildly. */
export class Rate {
  private samples: { t: number; bytes: number }[] = [];
  add(bytes: number): void {
    // A resumed pull first reports 0, then at once what is already on disk: that jump is not download speed
    // (it showed 3.7 GB/s and an ETA of 12 ms), so counting starts at the first bytes seen.
    if (bytes === 0 && this.samples.length === 0) return;
    const t = Date.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > 10_000) this.samples.shift();
  }
  bytesPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t === first.t) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}

class BarView implements ProgressView {
  private readonly bars = new cliProgress.MultiBar(
    {
      format: " {label} |{bar}| {percentage}% {done}/{size} {speed} ETA {etaText}",
      barCompleteChar: "█",
      barIncompleteChar: "░",
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly files = new Map<string, { bar: cliProgress.SingleBar; rate: Rate }>();

  update(p: PullProgress): void {
    if (p.digest && p.total) {
      let file = this.files.get(p.digest);
      if (!file) {
        file = { bar: this.bars.create(p.total, 0, { label: p.status, done: "0 B", size: formatBytes(p.total), speed: "", etaText: "" }), rate: new Rate() };
        this.files.set(p.digest, file);
      }
      const completed = p.completed ?? 0;
      file.rate.add(completed);
      const bps = file.rate.bytesPerSecond();
      file.bar.update(completed, {
        label: p.status,
        done: formatBytes(completed),
        size: formatBytes(p.total),
        speed: bps > 0 ? `${formatBytes(bps)}/s` : "",
        etaText: bps > 0 && completed < p.total ? formatDuration(((p.total - completed) / bps) * 1000) : completed >= p.total ? "done" : "…",
      });
      return;
    }
    this.bars.log(`${describe(p)}\n`);
  }

  stop(): void {
    this.bars.stop();
  }
}

class PlainView implements ProgressView {
  private readonly lastPrinted = new Map<string, { t: number; pct: number }>();
  private readonly rates = new Map<string, Rate>();
  private lastStatus = "";

  constructor(private readonly out: (line: string) => void) {}

  update(p: PullProgress): void {
    if (p.digest && p.total) {
      const completed = p.completed ?? 0;
      const pct = Math.floor((completed / p.total) * 100);
      const rate = this.rates.get(p.digest) ?? new Rate();
      this.rates.set(p.digest, rate);
      rate.add(completed);
      const last = this.lastPrinted.get(p.digest);
      // At most one line per 5 s or 10 %, and always the first and the last.
      if (last && completed < p.total && Date.now() - last.t < 5000 && pct - last.pct < 10) return;
      if (last && last.pct === 100) return;
      this.lastPrinted.set(p.digest, { t: Date.now(), pct });
      const bps = rate.bytesPerSecond();
      const speed = bps > 0 ? `, ${formatBytes(bps)}/s` : "";
      this.out(`${p.status}: ${pct}% (${formatBytes(completed)} of ${formatBytes(p.total)}${speed})`);
      return;
    }
    const line = describe(p);
    if (line !== this.lastStatus) this.out(line);
    this.lastStatus = line;
  }

  stop(): void {}
}

function describe(p: PullProgress): string {
  return p.reason ? `${p.status} (${p.reason})` : p.status;
}
