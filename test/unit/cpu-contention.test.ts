/**
 * What the prompt thread budget reads of the machine: /proc/loadavg's runnable count, the threads it leaves a prompt,
 * and on Linux a real reading while a child process keeps a CPU busy.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { otherRunnableTasks, promptThreadsFor, runnableTasksOf } from "../../src/daemon/engine/cpu-contention.js";

describe("CPU contention for the prompt thread budget", () => {
  it("reads the running-or-ready count from /proc/loadavg's text, and nothing from other text", () => {
    expect(runnableTasksOf("0.82 1.01 1.43 2/345 27519\n")).to.equal(2);
    expect(runnableTasksOf("17.67 122.49 76.45 13/79 31350")).to.equal(13);
    expect(runnableTasksOf("0.82 1.01 1.43")).to.equal(undefined);
    expect(runnableTasksOf("")).to.equal(undefined);
  });

  it("gives a prompt the budget, at most the CPUs the other tasks leave, never below the batch budget", () => {
    expect(promptThreadsFor(2, 1, 2, undefined), "unknown: the budget").to.equal(2);
    expect(promptThreadsFor(2, 1, 2, 0)).to.equal(2);
    expect(promptThreadsFor(2, 1, 2, 1)).to.equal(1);
    expect(promptThreadsFor(2, 1, 2, 30)).to.equal(1);
    expect(promptThreadsFor(8, 4, 16, 10)).to.equal(6);
    expect(promptThreadsFor(8, 4, 16, 1)).to.equal(8);
    expect(promptThreadsFor(8, 4, 16, 14)).to.equal(4);
  });

  (process.platform === "linux" ? it : it.skip)("counts a child process that keeps a CPU busy (Linux, real /proc/loadavg)", async function () {
    this.timeout(10_000);
    const child = spawn(process.execPath, ["-e", "const end = Date.now() + 5000; while (Date.now() < end) {}"], { stdio: "ignore" });
    try {
      await sleep(500);
      // The busy child is always running or ready to run: every reading counts it.
      for (let i = 0; i < 5; i++) {
        expect(otherRunnableTasks()).to.be.at.least(1);
        await sleep(20);
      }
    } finally {
      child.kill();
    }
  });
});
