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
 */
import fs from "node:fs";

/** Tasks running or ready to run, from /proc/loadavg's text (`0.82 1.01 1.43 2/345 27519`: the 2). */
export function runnableTasksOf(loadavg: string): number | undefined {
  const match = /^\S+ \S+ \S+ (\d+)\/\d+ /.exec(loadavg);
  return match ? Number(match[1]) : undefined;
}

/** Tasks besides the caller running or ready to run on the machine now; undefined where the system does not say. */
export function otherRunnableTasks(): number | undefined {
  if (process.platform !== "linux") return undefined;
  let text: string;
  try {
    text = fs.readFileSync("/proc/loadavg", "latin1");
  } catch {
    return undefined;
  }
  const runnable = runnableTasksOf(text);
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
