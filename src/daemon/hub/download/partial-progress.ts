/**
 * The record of a partial download: a sidecar `<partial>.progress.json` listing which byte ranges of the partial
 * file are written. It is always replaced atomically (write a temporary file, rename it over the old one), and it
 * keeps two lists, because two kinds of crash lose different things:
 * - `written`: ranges whose writes completed. Saved often and cheaply (no fsync). A killed process (kill -9, OOM,
 *   a crash of the daemon) loses nothing the kernel already has, so after such a crash these ranges are trusted:
 *   a resume re-fetches at most the bytes written since the last save.
 * - `durable`: ranges known to be on disk: the partial file was fdatasync'ed before the save, and the sidecar is
 *   fsync'ed. After a reboot (power loss, kernel panic) the page cache is gone, so only these are trusted.
 * Which case applies is told by the boot the sidecar was written in. Data flushes cost disk time, so they are
 * rate-limited (`durableIntervalMs`) and run beside the cheap saves, which happen whenever the downloader asks; the
 * sidecar's own fsync is rate-limited separately (`recordSyncIntervalMs`).
 * Requests made during a save collapse into one more save.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ByteRange } from "./byte-ranges.js";

/** The sidecar's content. */
export interface PartialProgressFile {
  version: 2;
  /** Expected digest of the finished file, e.g. `sha256:<hex>`. */
  digest: string;
  size: number;
  /** The boot the sidecar was written in (see `currentBoot`). */
  boot: string;
  /** Whether durable saves were made at all; without them `written` is all there is, even after a reboot. */
  durable_mode: boolean;
  written: ByteRange[];
  durable: ByteRange[];
  updated_at: string;
}

/** Sidecar path of a partial file. */
export function progressPathOf(partialPath: string): string {
  return `${partialPath}.progress.json`;
}

/**
 * An identifier of the current boot: Linux's boot_id, else the boot time to the second (time now minus uptime),
 * which `sameBoot` compares with a tolerance for clock adjustments.
 */
export function currentBoot(): string {
  try {
    return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `t${Math.round(Date.now() / 1000 - os.uptime())}`;
  }
}

function sameBoot(a: string, b: string): boolean {
  if (a.startsWith("t") && b.startsWith("t")) return Math.abs(Number(a.slice(1)) - Number(b.slice(1))) < 120;
  return a === b;
}

/**
 * Read the sidecar of `partialPath`: the ranges that can be trusted now (see the module comment) and those known
 * durable, when it describes the same file (digest and size) and the partial file exists with its full
 * preallocated size; otherwise undefined (start over).
 */
export async function readPartialProgress(
  partialPath: string,
  expected: { digest: string; size: number },
  boot: string = currentBoot(),
): Promise<{ ranges: ByteRange[]; durable: ByteRange[] } | undefined> {
  let parsed: PartialProgressFile;
  try {
    parsed = JSON.parse(await fsp.readFile(progressPathOf(partialPath), "utf8")) as PartialProgressFile;
    const stat = await fsp.stat(partialPath);
    if (stat.size !== expected.size) return undefined;
  } catch {
    return undefined;
  }
  if (parsed?.version !== 2 || parsed.digest !== expected.digest || parsed.size !== expected.size) return undefined;
  const written = validRanges(parsed.written, expected.size);
  const durable = validRanges(parsed.durable, expected.size);
  if (!written || !durable) return undefined;
  return { ranges: sameBoot(parsed.boot, boot) || !parsed.durable_mode ? written : durable, durable };
}

function validRanges(value: unknown, size: number): ByteRange[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: ByteRange[] = [];
  for (const r of value) {
    if (!Array.isArray(r) || r.length !== 2) return undefined;
    const [s, e] = r as [unknown, unknown];
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e)) return undefined;
    if ((s as number) < 0 || (e as number) > size || (s as number) >= (e as number)) return undefined;
    out.push([s as number, e as number]);
  }
  return out;
}

/** Options of a journal. */
export interface ProgressJournalOptions {
  /** Make data flushes (fdatasync) behind a `durable` list. Default true. */
  durable?: boolean;
  /** At most one data flush per interval while downloading (the final flush always happens). Default 500 ms. */
  durableIntervalMs?: number;
  /**
   * At most one fsync'ed sidecar save per interval (the final one always happens). Default 2000 ms. Plain saves
   * carry the durable list too (its ranges were flushed before it was taken, so any version of the sidecar that
   * survives a power loss tells the truth); the fsync only bounds how old the surviving one can be. On ext4 an
   * fsync during a heavy write stream waits for a journal commit that flushes the partial file's newly allocated
   * blocks, and plain saves queue behind it: measured, syncing the sidecar after every 500 ms data flush let the
   * record of written ranges fall 270 MiB behind at a kill -9, against 40 MiB with this limit.
   */
  recordSyncIntervalMs?: number;
  boot?: string;
}

/**
 * Writes the sidecar of one partial file; see the module comment. Two independent single-flight loops: the
 * sidecar writer (cheap: a small file and a rename) and the data flusher (fdatasync, which can take seconds on a
 * slow disk). Sidecar writes never wait for a data flush, so a kill during a long flush still loses only the
 * bytes since the last cheap save.
 */
export class ProgressJournal {
  readonly path: string;
  readonly #durable: boolean;
  readonly #interval: number;
  readonly #boot: string;
  readonly #syncInterval: number;
  #durableRanges: ByteRange[] = [];
  #lastFlushAt = 0;
  #lastSyncedSaveAt = -Infinity;
  #syncPending = false;
  #writePending: "none" | "plain" | "synced" = "none";
  #writing: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  #lastError: unknown;
  /** Sidecar saves completed, and data flushes (for stats and tests). */
  saves = 0;
  durableSaves = 0;
  /** Sidecar saves that were fsync'ed. */
  syncedSaves = 0;

  constructor(
    partialPath: string,
    private readonly header: { digest: string; size: number },
    /** Snapshot of written ranges; a flush takes it before syncing, so it never claims bytes written after. */
    private readonly snapshot: () => ByteRange[],
    /** The partial file, flushed by the data flusher. */
    private readonly data: { datasync(): Promise<void> },
    options: ProgressJournalOptions = {},
  ) {
    this.path = progressPathOf(partialPath);
    this.#durable = options.durable ?? true;
    this.#interval = options.durableIntervalMs ?? 500;
    this.#syncInterval = options.recordSyncIntervalMs ?? 2000;
    this.#boot = options.boot ?? currentBoot();
  }

  /** Start from the ranges the previous run had made durable. */
  seedDurable(ranges: ByteRange[]): void {
    this.#durableRanges = ranges;
  }

  /** Ask for a save soon (and a data flush when the interval has passed); returns at once. Errors surface on flush(). */
  request(): void {
    this.#enqueueWrite("plain");
    if (this.#durable && !this.#flushing && performance.now() - this.#lastFlushAt >= this.#interval) {
      this.#flushing = this.#flushData().finally(() => {
        this.#flushing = undefined;
      });
    }
  }

  /** Wait for what is in flight, flush the data (when durable), save once more, fsynced. Throws if anything failed. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#durable) await this.#flushData();
    this.#enqueueWrite("synced");
    while (this.#writing) await this.#writing;
    if (this.#lastError) {
      const err = this.#lastError;
      this.#lastError = undefined;
      throw err;
    }
  }

  /** Wait until nothing runs, without starting anything (before closing or deleting the partial file). */
  async idle(): Promise<void> {
    while (this.#flushing || this.#writing) await (this.#flushing ?? this.#writing);
    this.#lastError = undefined;
  }

  async #flushData(): Promise<void> {
    const ranges = this.snapshot();
    this.#lastFlushAt = performance.now();
    try {
      await this.data.datasync();
      this.#durableRanges = ranges;
      this.durableSaves++;
      // At most one synced save waiting or running, and the next one an interval after it ended: a slow fsync
      // stretches the spacing instead of queueing syncs back to back (plain saves wait behind each one).
      const synced = !this.#syncPending && performance.now() - this.#lastSyncedSaveAt >= this.#syncInterval;
      if (synced) this.#syncPending = true;
      this.#enqueueWrite(synced ? "synced" : "plain");
    } catch (err) {
      this.#lastError = err;
    }
  }

  #enqueueWrite(kind: "plain" | "synced"): void {
    if (kind === "synced" || this.#writePending === "none") this.#writePending = kind;
    this.#kick();
  }

  #kick(): void {
    if (this.#writing || this.#writePending === "none") return;
    // Re-kick when a loop ends: a request may have arrived while it was winding down.
    this.#writing = this.#writeLoop().finally(() => {
      this.#writing = undefined;
      this.#kick();
    });
  }

  async #writeLoop(): Promise<void> {
    while (this.#writePending !== "none") {
      const synced = this.#writePending === "synced";
      this.#writePending = "none";
      try {
        await this.#writeSidecar(synced);
      } catch (err) {
        this.#lastError = err;
      }
    }
  }

  async #writeSidecar(synced: boolean): Promise<void> {
    try {
      await this.#saveSidecar(synced);
      if (synced) this.#lastSyncedSaveAt = performance.now();
    } finally {
      // A failed synced save must not stop later ones (the error surfaces on flush()).
      if (synced) this.#syncPending = false;
    }
  }

  async #saveSidecar(synced: boolean): Promise<void> {
    const body: PartialProgressFile = {
      version: 2,
      digest: this.header.digest,
      size: this.header.size,
      boot: this.#boot,
      durable_mode: this.#durable,
      written: this.snapshot(),
      durable: this.#durableRanges,
      updated_at: new Date().toISOString(),
    };
    const tmp = `${this.path}.tmp`;
    const fh = await fsp.open(tmp, "w");
    try {
      await fh.writeFile(JSON.stringify(body));
      if (synced) await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.path);
    if (synced) {
      await fsyncDir(path.dirname(this.path));
      this.syncedSaves++;
    }
    this.saves++;
  }
}

/** fsync a directory so a rename or create in it survives a power loss (no-op where directories cannot be opened). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    await fh?.close();
  }
}
