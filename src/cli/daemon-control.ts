/**
 * Starting, waiting for and stopping a background daemon from the CLI. The CLI talks to the daemon only over
 * HTTP; the pid file is read just to find and signal the process.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MlxmConfig } from "../config/config.js";
import { ZodError } from "zod";
import { AlreadyRunningError, ApiError, DaemonStartError, DaemonUnreachableError, UnauthorizedError, UnavailableError } from "../client/errors.js";
import type { MlxmClient } from "../client/mlxm-client.js";
import type { HealthResponse } from "../protocol/native.js";
import { ensureHome, ensurePrivateFile, makePrivateDir, tightenMode, PRIVATE_FILE_MODE } from "../home/home-dir.js";
import { isProcessAlive, runningDaemon } from "../home/pid-file.js";
import { withLaunchDefaults } from "./launch-environment.js";

/** bin/run.js, found from this module's place in either src/cli or dist/cli. */
const RUN_JS = fileURLToPath(new URL("../../bin/run.js", import.meta.url));
const MAX_LOG_BYTES = 20 * 1024 * 1024;

export function daemonLogPath(home: string): string {
  return path.join(home, "logs", "daemon.log");
}

/**
 * Health of the daemon at the client's address: undefined when no mlxm daemon answers there (nothing listens,
 * or another program does: then starting a daemon reports the port as taken), `starting` while it starts.
 */
export async function probe(client: MlxmClient): Promise<HealthResponse | undefined> {
  try {
    return await client.health();
  } catch (err) {
    if (err instanceof UnavailableError) return { status: "starting" } as HealthResponse;
    // A daemon answers but refuses our credential: say so, rather than try to start another one.
    if (err instanceof UnauthorizedError) throw err;
    if (err instanceof DaemonUnreachableError || err instanceof ApiError || err instanceof ZodError) return undefined;
    throw err;
  }
}

/** Wait until the daemon answers ready, or fail with the reason (the child exited, or the timeout passed). */
async function waitUntilReady(
  client: MlxmClient,
  timeoutMs: number,
  child?: { exited: () => number | null | undefined },
  logPath?: string,
): Promise<HealthResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await probe(client);
    if (health?.status === "ready") return health;
    const exitCode = child?.exited();
    if (exitCode !== undefined) {
      throw new DaemonStartError(
        `the daemon exited during start-up (code ${exitCode})${reasonFromLog(logPath)}; log: ${logPath}`,
        logPath,
      );
    }
    if (Date.now() > deadline) {
      throw new DaemonStartError(`the daemon did not become ready within ${Math.round(timeoutMs / 1000)}s; log: ${logPath}`, logPath);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The last error line the daemon logged, to say why it failed without making the user open the log. */
function reasonFromLog(logPath: string | undefined): string {
  if (!logPath) return "";
  try {
    const lines = fs.readFileSync(logPath, "utf8").trim().split("\n").slice(-20).reverse();
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) >= 50) return `: ${entry.err?.message ?? entry.msg}`;
      } catch {
        if (line.trim()) return `: ${line.trim()}`;
      }
    }
  } catch {
    /* no log yet */
  }
  return "";
}

export interface StartOptions {
  /** W3C traceparent of the command, so the daemon's start-up joins its trace. */
  traceparent?: string;
}

/**
 * Start a background daemon for `config.home` and wait until it is ready.
 * Refuses (AlreadyRunningError) when one already runs for this home.
 */
export async function startBackgroundDaemon(
  config: MlxmConfig,
  client: MlxmClient,
  options: StartOptions = {},
): Promise<HealthResponse> {
  const existing = runningDaemon(config.home);
  if (existing) throw new AlreadyRunningError(`an mlxm daemon is already running for ${config.home} (pid ${existing.pid})`, existing.pid);

  // A home that cannot be made or written is this command's error (exit 2), not a daemon that dies unseen.
  ensureHome(config.home);
  const logPath = daemonLogPath(config.home);
  makePrivateDir(path.dirname(logPath));
  rotateIfLarge(logPath);
  // The log may quote requests and configuration: 0600 (an older one, or the one rotated away, tightened).
  ensurePrivateFile(logPath);
  tightenMode(`${logPath}.1`, PRIVATE_FILE_MODE);
  const out = fs.openSync(logPath, "a");
  const env: NodeJS.ProcessEnv = withLaunchDefaults({ ...process.env, MLXM_HOME: config.home, MLXM_HOST: `${config.host}:${config.port}` });
  if (options.traceparent) env.TRACEPARENT = options.traceparent;
  const child = spawn(process.execPath, [RUN_JS, "serve"], {
    detached: true,
    stdio: ["ignore", out, out],
    env,
  });
  fs.closeSync(out);
  let exitCode: number | null | undefined;
  child.on("exit", (code, signal) => (exitCode = code ?? (signal ? -1 : null)));
  child.unref();
  return waitUntilReady(client, config.startTimeoutMs, { exited: () => exitCode }, logPath);
}

function rotateIfLarge(logPath: string): void {
  const size = fs.statSync(logPath, { throwIfNoEntry: false })?.size ?? 0;
  if (size > MAX_LOG_BYTES) fs.renameSync(logPath, `${logPath}.1`);
}

/**
 * Make sure a daemon answers: start one in the background when none does and autostart is allowed.
 */
export async function ensureDaemon(
  config: MlxmConfig,
  client: MlxmClient,
  options: StartOptions & { autostart: boolean },
): Promise<void> {
  const health = await probe(client);
  if (health?.status === "ready") return;
  if (health?.status === "starting") {
    await waitUntilReady(client, config.startTimeoutMs, undefined, daemonLogPath(config.home));
    return;
  }
  if (!options.autostart) {
    throw new DaemonUnreachableError(
      `no mlxm daemon answers at ${client.baseUrl} (autostart is off: run \`mlxm daemon start\` or \`mlxm serve\`)`,
      client.baseUrl,
    );
  }
  try {
    await startBackgroundDaemon(config, client, options);
  } catch (err) {
    if (err instanceof AlreadyRunningError) {
      // This home's daemon answers at another address (another --host or MLXM_HOST): waiting here cannot help.
      const elsewhere = await answeringAddress(config, client);
      if (elsewhere) {
        throw new DaemonUnreachableError(
          `the mlxm daemon of ${config.home} (pid ${err.pid}) answers at ${elsewhere}, not at ${client.baseUrl}: use --host ${elsewhere}, or stop it first`,
          client.baseUrl,
        );
      }
      // Another command may have started it at the same moment: use that one.
      await waitUntilReady(client, config.startTimeoutMs, undefined, daemonLogPath(config.home));
      return;
    }
    throw err;
  }
}

/** The address in this home's pid file, if a daemon answers there and it is not where `client` looks. */
async function answeringAddress(config: MlxmConfig, client: MlxmClient): Promise<string | undefined> {
  const address = runningDaemon(config.home)?.address;
  if (!address || `http://${address}` === client.baseUrl) return undefined;
  const { MlxmClient } = await import("../client/mlxm-client.js");
  try {
    await new MlxmClient({ baseUrl: `http://${address}`, timeoutMs: 1000 }).health();
    return address;
  } catch (err) {
    // A refusal is an answer too; only silence means it may still be starting.
    return err instanceof ApiError ? address : undefined;
  }
}

/** What `daemon stop` did, as `daemon status` would put it afterwards. */
export interface StopResult {
  /** Whether a daemon runs for this home now, after the stop (as `daemon status` says `running`). */
  running: boolean;
  /** Whether this command stopped one: false when none was running. */
  stopped: boolean;
  pid?: number;
  /** The service manager that supervised it: it stays stopped until the next login or a service restart. */
  service?: string;
  /** True when the daemon did not stop in time and was killed. */
  forced?: boolean;
}

/** How long a SIGKILLed daemon may take to be gone before `daemon stop` reports it still running. */
const KILL_WAIT_MS = 5_000;

/** SIGTERM the daemon of this home and wait for it to drain and exit (SIGKILL after grace + 10 s). */
export async function stopDaemon(config: MlxmConfig): Promise<StopResult> {
  const daemon = runningDaemon(config.home);
  if (!daemon) return { running: false, stopped: false };
  process.kill(daemon.pid, "SIGTERM");
  const forced = !(await exited(daemon.pid, config.shutdownGraceMs + 10_000));
  if (forced) {
    process.kill(daemon.pid, "SIGKILL");
    await exited(daemon.pid, KILL_WAIT_MS);
  }
  const running = isProcessAlive(daemon.pid);
  return { running, stopped: !running, pid: daemon.pid, forced, ...(daemon.service ? { service: daemon.service } : {}) };
}

/** Whether `pid` is gone within `timeoutMs`. */
async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
