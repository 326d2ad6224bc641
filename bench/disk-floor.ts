/**
 * The disk's floor for a durable copy: what putting `content` on the device and flushing it costs with no network and
 * no hash, the least any client that keeps a download through a power loss must spend on this disk. Two ways:
 * past the page cache (O_DIRECT, `inFlight` page-aligned writes of `writeBytes` at once, as a pull writes a blob,
 * into a sparse file), and through it (plain writes, then the flush writes the dirty pages back). Both end with
 * fdatasync, as a pull's blob does before it becomes visible. Times are wall-clock milliseconds: the writes, the
 * flush, and their sum.
 */
import fs from "node:fs";
import { alignedSharedMemory, DIRECT_IO_ALIGN, openDirect } from "../src/daemon/hub/download/direct-io.js";

export interface DiskFloorRun {
  writeMs: number;
  flushMs: number;
  totalMs: number;
}

export interface DiskFloorOptions {
  /** Past the page cache (O_DIRECT) or through it. */
  direct: boolean;
  inFlight?: number;
  writeBytes?: number;
}

/** Write `content` to `file` (created or truncated; left in place) and fdatasync it; see the module comment. */
export async function diskFloor(file: string, content: Buffer, options: DiskFloorOptions): Promise<DiskFloorRun> {
  const writeBytes = options.writeBytes ?? 4 * 1024 * 1024;
  const inFlight = options.inFlight ?? 2;
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, "");
  // Sparse, like a pull's partial file: the writes land in holes.
  fs.truncateSync(file, content.length);
  const fd = options.direct ? openDirect(file) : fs.openSync(file, "r+");
  if (fd < 0) throw new Error(`${file}: O_DIRECT is not available on this file system`);
  const buffers = Array.from({ length: inFlight }, () => {
    const memory = options.direct ? alignedSharedMemory(writeBytes) : { buffer: new SharedArrayBuffer(writeBytes), aligned: false };
    if (options.direct && !memory.aligned) throw new Error("no page-aligned memory for O_DIRECT writes");
    return Buffer.from(memory.buffer);
  });
  try {
    const t0 = performance.now();
    let next = 0;
    // Each buffer is a lane: copy the next slice of the real bytes into it (a pull copies from the socket), write, repeat.
    await Promise.all(
      buffers.map(async (buffer) => {
        while (next < content.length) {
          const position = next;
          const length = Math.min(writeBytes, content.length - position);
          next += length;
          content.copy(buffer, 0, position, position + length);
          // O_DIRECT lengths must be whole blocks: the last write is padded, then the file cut back to its size.
          const padded = options.direct ? Math.ceil(length / DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN : length;
          await new Promise<void>((resolve, reject) => fs.write(fd, buffer, 0, padded, position, (err) => (err ? reject(err) : resolve())));
        }
      }),
    );
    if (options.direct) fs.ftruncateSync(fd, content.length);
    const t1 = performance.now();
    await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    const t2 = performance.now();
    return { writeMs: t1 - t0, flushMs: t2 - t1, totalMs: t2 - t0 };
  } finally {
    fs.closeSync(fd);
  }
}
