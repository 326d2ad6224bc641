/**
 * What writing past the page cache (O_DIRECT) needs: the file opened with the flag, and the bytes in memory whose
 * first byte sits on a page boundary (O_DIRECT needs the buffer's address, the file offset and the length aligned to
 * the device's block size).
 *
 * JavaScript cannot ask for an address. A SharedArrayBuffer comes from malloc, which puts large blocks 16 bytes
 * past a page boundary; the memory of a WebAssembly.Memory is mapped by V8 itself, page by page, so it starts on a
 * page boundary, and a shared one is a SharedArrayBuffer like any other. Each one reserves (does not commit) about
 * 10 GiB of address space for V8's guard regions, as the WebAssembly every Node process already loads does.
 */
import fs from "node:fs";

/** The alignment O_DIRECT writes are cut to: a page, a multiple of every common logical block size (512, 4096). */
export const DIRECT_IO_ALIGN = 4096;

/** Aligned memory comes in WebAssembly's 64 KiB pages: ask for a multiple of this. */
export const ALIGNED_MEMORY_UNIT = 64 * 1024;

/** The one part of WebAssembly used here (the project's TypeScript libs do not declare it). */
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => { buffer: SharedArrayBuffer };
};

/**
 * `bytes` (a multiple of 64 KiB) of zeroed shared memory, page-aligned when the runtime allows it. `aligned` says
 * which one it got: without it, O_DIRECT writes from it would fail (EINVAL), so they are not tried.
 */
export function alignedSharedMemory(bytes: number): { buffer: SharedArrayBuffer; aligned: boolean } {
  if (bytes % ALIGNED_MEMORY_UNIT === 0) {
    try {
      const pages = bytes / ALIGNED_MEMORY_UNIT;
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      return { buffer: memory.buffer, aligned: true };
    } catch {
      // No WebAssembly, or its address space refused (a ulimit -v): ordinary shared memory, through the page cache.
    }
  }
  return { buffer: new SharedArrayBuffer(bytes), aligned: false };
}

/**
 * `path` opened for O_DIRECT writes and reads, or -1 where there is no such flag (macOS, Windows) or the file system
 * refuses it (tmpfs on older kernels).
 */
export function openDirect(path: string): number {
  const flag = fs.constants.O_DIRECT;
  if (!flag) return -1;
  try {
    return fs.openSync(path, fs.constants.O_RDWR | flag);
  } catch {
    return -1;
  }
}
