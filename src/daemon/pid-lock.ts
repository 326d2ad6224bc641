/**
 * One daemon per MLXM_HOME. The pid file is created exclusively (O_EXCL), so two starts cannot both win;
 * a file whose process is gone (left by `kill -9`) is stale and is replaced.
 */
import fs from "node:fs";
import { PRIVATE_FILE_MODE } from "../home/home-dir.js";
import { isDaemonProcess, pidFilePath, readPidFile, type PidFileContent } from "../home/pid-file.js";

/** Another live daemon holds the lock for this home. */
export class PidLockError extends Error {
  readonly code = "already_running";
  constructor(readonly pid: number, home: string) {
    super(`an mlxm daemon is already running for ${home} (pid ${pid})`);
    this.name = "PidLockError";
  }
}

/** Hold the lock for `home` (which must exist: see ensureHome); returns a handle to update and release it. */
export function acquirePidLock(home: string, version: string) {
  const file = pidFilePath(home);
  const content: PidFileContent = { pid: process.pid, version, started_at: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(content), { flag: "wx", mode: PRIVATE_FILE_MODE });
      return {
        update(patch: Partial<PidFileContent>) {
          Object.assign(content, patch);
          // Rewrite via a temp file so a reader never sees a half-written pid file.
          const tmp = `${file}.${process.pid}.tmp`;
          fs.writeFileSync(tmp, JSON.stringify(content), { mode: PRIVATE_FILE_MODE });
          fs.renameSync(tmp, file);
        },
        release() {
          const current = readPidFile(home);
          if (current?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const existing = readPidFile(home);
      if (existing && existing.pid !== process.pid && isDaemonProcess(existing.pid)) {
        throw new PidLockError(existing.pid, home);
      }
      if (!existing) {
        // Unreadable: possibly another starter between create and write. Give it a moment before calling it stale.
        const stat = fs.statSync(file, { throwIfNoEntry: false });
        if (!stat) continue;
        if (Date.now() - stat.mtimeMs < 2000) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
          continue;
        }
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the daemon lock ${file}`);
}
