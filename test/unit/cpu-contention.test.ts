/**
 * What the prompt thread budget reads of the machine: /proc/loadavg's runnable count, /proc/stat's busy time, how the
 * two combine, the threads that leaves a prompt, and on Linux real readings while a child process keeps a CPU busy.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import {
  busyCpuMsOf,
  CpuContention,
  othersBusyBetween,
  otherRunnableTasks,
  promptThreadsFor,
  runnableTasksOf,
  type CpuSample,
} from "../../src/daemon/engine/cpu-contention.js";

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

  it("reads busy CPU time from /proc/stat's first line: all but idle and iowait, in 10 ms ticks", () => {
    const stat = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\nintr 12345 0 0\n";
    expect(busyCpuMsOf(stat)).to.equal((100 + 5 + 50 + 3 + 2 + 1) * 10);
    expect(busyCpuMsOf("cpu0 50 2 25 500 10 1 1 0 0 0\n"), "no machine-wide line").to.equal(undefined);
    expect(busyCpuMsOf("cpu  100 5 50\n"), "too few fields").to.equal(undefined);
    expect(busyCpuMsOf("")).to.equal(undefined);
  });

  it("averages the CPUs other processes kept busy: the machine's busy time less this process's own", () => {
    const from: CpuSample = { at: 1000, busyMs: 5000, ownMs: 300 };
    expect(othersBusyBetween(from, { at: 1200, busyMs: 5300, ownMs: 400 })).to.be.closeTo(1, 1e-9);
    expect(othersBusyBetween(from, { at: 1200, busyMs: 5100, ownMs: 400 }), "own time counted, nothing else").to.equal(0);
    expect(othersBusyBetween(from, from), "no time passed").to.equal(0);
  });

  describe("a task running now, counted by how busy other processes were lately", () => {
    /** A contention reading fed by hand: `instant` tasks now, `busy` CPUs of other work per ms since the last sample. */
    function fed() {
      const state = { instant: 1 as number | undefined, at: 0, busyMs: 0, ownMs: 0 };
      const contention = new CpuContention({ everyMs: 0, instant: () => state.instant, sample: () => ({ at: state.at, busyMs: state.busyMs, ownMs: state.ownMs }) });
      const pass = (ms: number, otherCpus: number, ownCpus = 0) => {
        state.at += ms;
        state.busyMs += ms * (otherCpus + ownCpus);
        state.ownMs += ms * ownCpus;
      };
      return { state, contention, pass };
    }

    it("takes the instant as it is with no recent window yet, and nothing running as nothing", () => {
      const { state, contention } = fed();
      expect(contention.others(), "first reading: no window").to.equal(1);
      state.instant = 0;
      expect(contention.others()).to.equal(0);
      state.instant = undefined;
      expect(contention.others(), "not known").to.equal(undefined);
    });

    it("drops a task that runs only for a moment, and keeps one that keeps a CPU busy", () => {
      const { contention, pass } = fed();
      contention.others();
      pass(300, 0.1, 2);
      expect(contention.others(), "others 0.1 CPU while this process used two").to.equal(0);
      pass(300, 0.9, 0.1);
      expect(contention.others(), "others 0.9 CPU").to.equal(1);
    });

    it("never counts more than the instant, nor a window shorter than the ticks can measure", () => {
      const { state, contention, pass } = fed();
      contention.others();
      state.instant = 3;
      pass(300, 1.2);
      expect(contention.others(), "3 running now, 1.2 CPUs lately").to.equal(1);
      pass(300, 2.5);
      state.instant = 1;
      expect(contention.others(), "1 running now, 2.5 CPUs lately").to.equal(1);
      pass(50, 0);
      expect(contention.others(), "50 ms after the last sample: the window reaches back to the one before").to.equal(1);
    });
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

  (process.platform === "linux" ? it : it.skip)("counts a child process that keeps a CPU busy over the recent window too (Linux, real /proc/stat)", async function () {
    this.timeout(10_000);
    const contention = new CpuContention({ everyMs: 50 });
    const child = spawn(process.execPath, ["-e", "const end = Date.now() + 5000; while (Date.now() < end) {}"], { stdio: "ignore" });
    try {
      contention.others();
      await sleep(600);
      for (let i = 0; i < 5; i++) {
        expect(contention.others()).to.be.at.least(1);
        await sleep(20);
      }
    } finally {
      child.kill();
      contention.dispose();
    }
  });
});
