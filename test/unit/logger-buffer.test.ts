/** The daemon's log destination stops buffering for a reader that does not read (soak: bounded memory). */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { logDestination } from "../../src/observability/logger.js";

describe("log destination", () => {
  it("drops new lines once a stalled reader leaves maxLength bytes waiting", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-log-"));
    const fifo = path.join(dir, "stdout");
    execFileSync("mkfifo", [fifo]);
    // A reader that never reads: the pipe fills (64 KiB) and every later byte waits in the destination's buffer.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    const maxLength = 256 * 1024;
    const dest = logDestination({ fd: writer, maxLength });
    let dropped = 0;
    dest.on("drop", (line: string) => (dropped += line.length));
    const line = `${JSON.stringify({ level: 30, msg: "x".repeat(200) })}\n`;
    const lines = 20_000; // ~4 MiB offered, far past what the pipe and the buffer take
    for (let i = 0; i < lines; i++) dest.write(line);
    try {
      expect(dropped).to.be.greaterThan(0);
      // What was not dropped is in the pipe (at most its capacity, 1 MiB at most on Linux) or the bounded buffer.
      expect(lines * line.length - dropped).to.be.at.most(maxLength + 2 ** 20);
    } finally {
      // Read everything that waits, so the destination finishes its writes before both ends close.
      const chunk = Buffer.alloc(1 << 16);
      const pump = setInterval(() => {
        try {
          while (fs.readSync(reader, chunk) > 0);
        } catch {
          // EAGAIN: the pipe is empty for now
        }
      }, 5);
      await new Promise((resolve) => dest.flush(resolve));
      await new Promise((resolve) => {
        dest.once("close", resolve);
        dest.end();
      });
      clearInterval(pump);
      fs.closeSync(reader);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
