/**
 * The daemon's pid file under MLXM_HOME: its format and how to read it. The daemon writes it (daemon/pid-lock.ts)
 * and the CLI reads it (`daemon status`, `daemon stop`), so it lives here, in neither.
 */
import fs from "node:fs";
import path from "node:path";

/** What the pid file holds (JSON). */
export interface PidFileContent {
  pid: number;
  address?: string;
  version: string;
  started_at: string;
  /** The service manager supervising the daemon (MLXM_SERVICE), when one does. */
  service?: string;
}

/** The pid file of `home`. */
export function pidFilePath(home: string): string {
  return path.join(home, "daemon.pid");
}

/** The pid file's content, or undefined when it is missing or unreadable. */
export function readPidFile(home: string): PidFileContent | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(pidFilePath(home), "utf8")) as PidFileContent;
    return Number.isInteger(parsed.pid) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid exists (ours or not). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether `pid` is alive and, where the OS lets us look (Linux /proc), is an mlxm daemon: after a `kill -9`
 * and a reboot the old pid may belong to an unrelated process, which must neither block a start nor be signalled.
 */
export function isDaemonProcess(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes("serve");
  } catch {
    return true;
  }
}

/** The pid file of a live daemon for this home, if any. */
export function runningDaemon(home: string): PidFileContent | undefined {
  const content = readPidFile(home);
  return content && isDaemonProcess(content.pid) ? content : undefined;
}
