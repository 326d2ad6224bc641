import { expect } from "chai";
import { newTask } from "../../src/daemon/hub/download/download-task.js";
import { coalesceQueued, planRequests } from "../../src/daemon/hub/download/request-plan.js";

const MiB = 1024 * 1024;

describe("hub request plan", () => {
  it("cuts a big file into chunks ending in quarter chunks, and a small one into a range per connection", () => {
    const big = planRequests([[0, 16 * MiB]], { chunkSize: 2 * MiB, concurrency: 2, minSplitBytes: 256 * 1024 });
    expect(big.slice(0, 6).every(([s, e]) => e - s === 2 * MiB)).to.equal(true);
    expect(big.slice(6).every(([s, e]) => e - s === 512 * 1024)).to.equal(true);
    expect(big.at(-1)![1]).to.equal(16 * MiB);
    expect(planRequests([[0, 6 * MiB]], { chunkSize: 64 * MiB, concurrency: 4, minSplitBytes: 8 * MiB })).to.have.length(4);
  });

  it("coalesces the queued ranges that follow without a gap, up to the limit, and leaves the rest queued", () => {
    const queue = [newTask(MiB, 2 * MiB), newTask(2 * MiB, 3 * MiB), newTask(3 * MiB, 4 * MiB), newTask(5 * MiB, 6 * MiB)];
    const task = coalesceQueued(newTask(0, MiB), queue, 3 * MiB);
    expect([task.start, task.end, task.pos]).to.deep.equal([0, 3 * MiB, 0]);
    expect(queue.map((t) => t.start)).to.deep.equal([3 * MiB, 5 * MiB]);
    // A gap ends it: the range after it stays queued.
    const next = coalesceQueued(queue.shift()!, queue, 8 * MiB);
    expect([next.start, next.end]).to.deep.equal([3 * MiB, 4 * MiB]);
    expect(queue).to.have.length(1);
  });
});
