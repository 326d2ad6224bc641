/**
 * Whether other work is running on the machine at this instant, for the prompt thread budget (direct-decode.ts,
 * "Prompt threads"): a second thread evaluates a prompt faster only while a CPU is free for it. Measured in-process on
 * 2 CPUs, two threads took 0.54-0.65x the time of one for 128-512 tokens on an idle machine, but 1.12-1.34x with
 * another process keeping one CPU busy (ggml's threads busy-wait for each other at every step of the graph).
 *
 * How. Linux's /proc/loadavg gives the number of tasks running or ready to run right now, machine-wide; the thread
 * asking is one of them. Read just before a prompt's decode, it says what that decode will share the CPUs with: a
 * busy process, another model decoding, a compiler. An instant rather than an average on purpose: work that ended
 * before the prompt (the client that sent it, another server's last request) must not count, and a prompt of several
 * parts asks again for each. Elsewhere (macOS, Windows, a /proc that cannot be read) it is unknown, and the budget
 * stays as configured.
 *
 * Recent use. An instant also catches what runs for a moment only: a kernel thread's sweep, a client reading the last
 * reply, a thread of this process about to sleep. On an idle 2-CPU machine a third of the prompt decodes of a
 * conversation saw such a task and got one thread. So {@link CpuContention} counts a task seen running only as far as
 * other processes also kept CPUs busy over the last fraction of a second (/proc/stat's busy time less this process's
 * own, sampled every quarter second while prompts come): a process that keeps a CPU busy counts, a passing one does
 * not. Right after a pause in prompts there is no recent window yet, and the instant alone decides, as before.
 */
import fs from "node:fs";

/** Tasks running or ready to run, from /proc/loadavg's text (`0.82 1.01 1.43 2/345 27519`: the 2). */
export function runnableTasksOf(loadavg: string): number | undefined {
  const match = /^\S+ \S+ \S+ (\d+)\/\d+ /.exec(loadavg);
  return match ? Number(match[1]) : undefined;
}

/**
 * The start of a /proc file (Linux only; undefined elsewhere or when it cannot be read). Only the start: /proc/stat's
 * first line is all that is wanted of it, and the whole file is long on large machines (a count per interrupt).
 */
function procStart(file: string, bytes = 256): string | undefined {
  if (process.platform !== "linux") return undefined;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, "r");
    const head = Buffer.alloc(bytes);
    return head.toString("latin1", 0, fs.readSync(fd, head, 0, bytes, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Tasks besides the caller running or ready to run on the machine now; undefined where the system does not say. */
export function otherRunnableTasks(): number | undefined {
  const text = procStart("/proc/loadavg");
  const runnable = text === undefined ? undefined : runnableTasksOf(text);
  return runnable === undefined ? undefined : Math.max(0, runnable - 1);
}

/**
 * Threads for a prompt: the budget, at most the CPUs the other runnable tasks leave free, never below the batch
 * budget. `others` undefined (not known): the budget.
 */
export function promptThreadsFor(budget: number, batchThreads: number, cpus: number, others: number | undefined): number {
  if (others === undefined) return budget;
  return Math.max(batchThreads, Math.min(budget, cpus - others));
}

/**
 * CPU time machine-wide, all CPUs summed, in ms, from /proc/stat's text: user, nice, system, irq, softirq and steal
 * (time the hypervisor gave elsewhere is not ours either); idle and iowait are not busy. Ticks are USER_HZ, 100 on
 * Linux.
 */
export function busyCpuMsOf(stat: string, msPerTick = 10): number | undefined {
  const line = /^cpu +([\d ]+)$/m.exec(stat)?.[1];
  const ticks = line?.trim().split(/ +/).map(Number);
  if (!ticks || ticks.length < 8) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = ticks as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) * msPerTick;
}

/** One reading of how busy the machine and this process were, cumulative. */
export interface CpuSample {
  /** When (ms, monotonic). */
  at: number;
  /** CPU time machine-wide (ms, all CPUs summed). */
  busyMs: number;
  /** This process's CPU time (ms, all its threads). */
  ownMs: number;
}

/** How many CPUs other processes kept busy on average between two samples. */
export function othersBusyBetween(from: CpuSample, to: CpuSample): number {
  const wall = to.at - from.at;
  if (wall <= 0) return 0;
  return Math.max(0, to.busyMs - from.busyMs - (to.ownMs - from.ownMs)) / wall;
}

/** A {@link CpuSample} now; undefined where /proc/stat cannot be read. */
export function readCpuSample(): CpuSample | undefined {
  const text = procStart("/proc/stat");
  const busyMs = text === undefined ? undefined : busyCpuMsOf(text);
  if (busyMs === undefined) return undefined;
  const own = process.cpuUsage();
  return { at: performance.now(), busyMs, ownMs: (own.user + own.system) / 1000 };
}

export interface CpuContentionOptions {
  /** Tasks besides the caller running now (default: {@link otherRunnableTasks}). */
  instant?: () => number | undefined;
  /** A cumulative reading (default: {@link readCpuSample}). */
  sample?: () => CpuSample | undefined;
  /** Sampling period while prompts come (ms); 0: no timer (samples only at {@link CpuContention.others} calls). */
  everyMs?: number;
  /** The shortest stretch a recent average is taken over (ms): /proc/stat counts in 10 ms ticks. */
  windowMs?: number;
  /** Sampling stops this long after the last prompt asked (ms). */
  idleStopMs?: number;
}

/** Samples kept: a few seconds at the default period, more than any window needs. */
const SAMPLES_KEPT = 16;

/** Other tasks that would share the CPUs with a prompt decoded now: see "Recent use" above. */
export class CpuContention {
  readonly #instant: () => number | undefined;
  readonly #sample: () => CpuSample | undefined;
  readonly #everyMs: number;
  readonly #windowMs: number;
  readonly #idleStopMs: number;
  readonly #samples: CpuSample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastAsked = 0;

  constructor(options: CpuContentionOptions = {}) {
    this.#instant = options.instant ?? otherRunnableTasks;
    this.#sample = options.sample ?? readCpuSample;
    this.#everyMs = options.everyMs ?? 250;
    this.#windowMs = options.windowMs ?? 200;
    this.#idleStopMs = options.idleStopMs ?? 60_000;
  }

  /**
   * Tasks besides the caller running now, counted only as far as other processes kept CPUs busy over the recent
   * window (rounded: half a CPU or more is one); the instant alone where there is no window yet; undefined where the
   * system does not say.
   */
  others(): number | undefined {
    const instant = this.#instant();
    const now = this.#sample();
    this.#lastAsked = performance.now();
    this.#keepSampling();
    if (!now) return instant;
    const since = this.#samples.findLast((s) => s.at <= now.at - this.#windowMs);
    this.#record(now);
    if (!instant || !since) return instant;
    return Math.min(instant, Math.round(othersBusyBetween(since, now)));
  }

  /** Keeps a sample for later windows. */
  #record(sample: CpuSample): void {
    this.#samples.push(sample);
    if (this.#samples.length > SAMPLES_KEPT) this.#samples.shift();
  }

  dispose(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #keepSampling(): void {
    if (this.#timer || this.#everyMs <= 0) return;
    this.#timer = setInterval(() => {
      if (performance.now() - this.#lastAsked > this.#idleStopMs) {
        this.dispose();
        this.#samples.length = 0;
        return;
      }
      const sample = this.#sample();
      if (sample) this.#record(sample);
    }, this.#everyMs).unref();
  }
}
