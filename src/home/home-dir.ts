/**
 * MLXM_HOME itself: the one place that creates it (mode 0700) and the private directories and files in it (0700 and
 * 0600), and that tells a home which cannot be used from one that can. Both the CLI and the daemon create it (the
 * CLI before it starts a background daemon, or to spool a span; the daemon at start), so it lives here, in neither.
 */
import fs from "node:fs";
import path from "node:path";

/** The home and the directories in it: only their owner may list or enter them. */
export const PRIVATE_DIR_MODE = 0o700;
/** Files in the home that hold state (the database, logs, tokens, keys): only their owner may read them. */
export const PRIVATE_FILE_MODE = 0o600;

/** MLXM_HOME cannot be created or written: a usage error (exit 2) with the reason, never a retry. */
export class HomeError extends Error {
  readonly code = "home_unusable";
  constructor(readonly home: string, cause: unknown) {
    super(`cannot use MLXM_HOME=${home}: ${cause instanceof Error ? cause.message : String(cause)}; set MLXM_HOME to a directory you can write`, { cause });
    this.name = "HomeError";
  }
}

/**
 * Make sure `home` exists as a private directory this process can write: created 0700 with any missing parents,
 * tightened to 0700 when an existing one is looser, and written to once (a probe file) so a home that cannot take
 * files fails here, with its reason, rather than halfway through a start. Returns whether the mode was tightened.
 * Throws HomeError.
 */
export function ensureHome(home: string): { tightened: boolean } {
  try {
    const tightened = makePrivateDir(home);
    probeWritable(home);
    return { tightened };
  } catch (err) {
    throw new HomeError(home, err);
  }
}

/**
 * Create `dir` (mode 0700) and its missing parents, or tighten an existing one to 0700. Returns whether an existing
 * directory was tightened.
 *
 * Not `mkdirSync(dir, { recursive: true })`: Node's recursive mkdir reads ENOENT as "the parent is missing", creates
 * the parent (EEXIST, fine) and tries the child again, for ever, when a parent exists but cannot hold directories:
 * `/proc/self/mlxm` spun a core and never returned. Here each missing directory is tried once, top down, so such a
 * path fails with the system's own error.
 */
export function makePrivateDir(dir: string): boolean {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let current = target; !fs.existsSync(current); current = path.dirname(current)) {
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  for (const [i, d] of missing.entries()) {
    try {
      // Only the directory asked for is private; parents get the usual mode, as `mkdir -p -m 700` gives them.
      fs.mkdirSync(d, i === missing.length - 1 ? { mode: PRIVATE_DIR_MODE } : undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  if (!fs.statSync(target).isDirectory()) throw Object.assign(new Error(`${target} is not a directory`), { code: "ENOTDIR" });
  return missing.length === 0 && tightenMode(target, PRIVATE_DIR_MODE);
}

/**
 * Create `file` empty (mode 0600) when it is missing, or tighten it to 0600, before a writer that picks its own mode
 * opens it: SQLite creates a database 0644 (and gives its -wal and -shm the database's mode), launchd and a log
 * opened for append take the umask's.
 */
export function ensurePrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    tightenMode(file, PRIVATE_FILE_MODE);
  }
}

/**
 * Remove the permission bits `file` has beyond `mode` (a home made by an older version with 0755 and 0644, or copied).
 * Best effort: a file that is missing, owned by someone else or on a file system without modes keeps its mode and
 * nothing fails. Returns whether the mode changed.
 */
export function tightenMode(file: string, mode: number): boolean {
  try {
    const current = fs.statSync(file).mode & 0o777;
    if ((current & ~mode) === 0) return false;
    fs.chmodSync(file, current & mode);
    return true;
  } catch {
    return false;
  }
}

/** Write and remove a file in `home`: EACCES, EROFS or procfs's ENOENT surface here, once, with the home's name. */
function probeWritable(home: string): void {
  const probe = path.join(home, `.write-probe-${process.pid}`);
  fs.writeFileSync(probe, "", { flag: "wx", mode: PRIVATE_FILE_MODE });
  fs.rmSync(probe, { force: true });
}
