/**
 * MLXM_HOME itself: the one place that creates it, and that tells a home which cannot be used from one that can.
 * Both the CLI and the daemon create it (the CLI before it starts a background daemon, or to spool a span; the
 * daemon at start), so it lives here, in neither.
 */
import fs from "node:fs";
import path from "node:path";

/** MLXM_HOME cannot be created or written: a usage error (exit 2) with the reason, never a retry. */
export class HomeError extends Error {
  readonly code = "home_unusable";
  constructor(readonly home: string, cause: unknown) {
    super(`cannot use MLXM_HOME=${home}: ${cause instanceof Error ? cause.message : String(cause)}; set MLXM_HOME to a directory you can write`, { cause });
    this.name = "HomeError";
  }
}

/**
 * Make sure `home` exists as a directory this process can write: created with any missing parents, and written to
 * once (a probe file) so a home that cannot take files fails here, with its reason, rather than halfway through a
 * start. Throws HomeError.
 */
export function ensureHome(home: string): void {
  try {
    makeDir(home);
    probeWritable(home);
  } catch (err) {
    throw new HomeError(home, err);
  }
}

/**
 * Create `dir` and its missing parents.
 *
 * Not `mkdirSync(dir, { recursive: true })`: Node's recursive mkdir reads ENOENT as "the parent is missing", creates
 * the parent (EEXIST, fine) and tries the child again, for ever, when a parent exists but cannot hold directories:
 * `/proc/self/mlxm` spun a core and never returned. Here each missing directory is tried once, top down, so such a
 * path fails with the system's own error.
 */
export function makeDir(dir: string): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let current = target; !fs.existsSync(current); current = path.dirname(current)) {
    missing.unshift(current);
    if (path.dirname(current) === current) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  if (!fs.statSync(target).isDirectory()) throw Object.assign(new Error(`${target} is not a directory`), { code: "ENOTDIR" });
}

/** Write and remove a file in `home`: EACCES, EROFS or procfs's ENOENT surface here, once, with the home's name. */
function probeWritable(home: string): void {
  const probe = path.join(home, `.write-probe-${process.pid}`);
  fs.writeFileSync(probe, "", { flag: "wx" });
  fs.rmSync(probe, { force: true });
}
