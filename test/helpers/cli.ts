/**
 * Run the built CLI (`bin/run.js`) as a user would: a separate process, its own environment, no TTY.
 * `npm test` builds first, so these tests exercise dist/ and the oclif manifest exactly as shipped.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.js";
import { makeTempHome } from "./temp-home.js";

export const RUN_JS = fileURLToPath(new URL("../../bin/run.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliEnv {
  home: string;
  port: number;
  extra?: Record<string, string>;
}

/**
 * How long a CLI waits for the daemon it autostarts, unless a test sets MLXM_START_TIMEOUT itself. No test is about
 * start-up time: the 30 s default only bounds a broken start, and a loaded 2-core machine (e2e files in parallel,
 * other work beside) can take longer than that to import the daemon. A passing test never waits for it.
 */
const TEST_START_TIMEOUT = "120s";

/** The environment a CLI process gets: the test's home and port; nothing from the developer's own shell. */
export function cliEnv({ home, port, extra }: CliEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MLXM_START_TIMEOUT: TEST_START_TIMEOUT, MLXM_HOME: home, MLXM_HOST: `127.0.0.1:${port}`, ...extra };
  for (const k of ["LOGFIRE_TOKEN", "LOGFIRE_BASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "MLXM_NO_AUTOSTART", "MLXM_TRACE", "MLXM_TRACE_CONTENT"]) {
    if (!extra || !(k in extra)) delete env[k];
  }
  return env;
}

export function runCli(args: string[], env: CliEnv, options: { stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { env: cliEnv(env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`mlxm ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** Parse the one JSON document a `--json` command prints. */
export function parseJson<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** A fresh MLXM_HOME and a free port for one test, plus the cleanup that removes the home. */
export async function freshCliEnv(extra?: Record<string, string>): Promise<{ env: CliEnv; cleanup: () => void }> {
  const { home, cleanup } = makeTempHome();
  return { env: { home, port: await freePort(), ...(extra ? { extra } : {}) }, cleanup };
}
