/**
 * The first thing both entrypoints run, before oclif or any command module is imported:
 * `mlxm serve` is the daemon and gets the full SDK (logfire-node); every other command gets the light CLI tracer.
 */
import { setCliTracer } from "../cli/trace-context.js";
import { cliTracingEnabled, ConfigError } from "../config/config.js";
import { VERSION } from "../version.js";

export interface Observability {
  /** End the command's root span (with the error, if any) and hand it over. Never throws. */
  finish(error?: unknown): Promise<void>;
}

export async function startObservability(argv: string[]): Promise<Observability> {
  if (argv[0] === "serve" && !argv.includes("--help") && !argv.includes("-h")) {
    const { setupDaemonObservability } = await import("./daemon-setup.js");
    try {
      await setupDaemonObservability(VERSION);
    } catch (err) {
      // A bad setting (MLXM_NUM_PARALLEL=abc): skip tracing and let `serve` itself refuse it as a usage error
      // (exit 2, one line naming the variable) rather than crash here with a stack trace.
      if (err instanceof ConfigError) return { finish: async () => {} };
      throw err;
    }
    // The daemon flushes and shuts its SDK down itself once it has drained.
    return { finish: async () => {} };
  }
  if (!cliTracingEnabled()) return { finish: async () => {} };
  const { CliTracer } = await import("./cli-tracer.js");
  const tracer = new CliTracer();
  setCliTracer(tracer);
  handOverOnCtrlC(tracer);
  return { finish: (error) => tracer.finish(error) };
}

/**
 * Ctrl-C ends a command (exit 130) before bin/run.js hands its span over, which left the daemon requests it caused
 * in a trace with no root. Unless the command handles Ctrl-C itself (`pull` asks whether to cancel), its span is
 * finished as interrupted and handed over first; a second Ctrl-C, or a daemon that does not answer, does not wait.
 */
function handOverOnCtrlC(tracer: { recordFailure(code: string, message: string, exitCode: number): void; finish(error?: unknown): Promise<void> }): void {
  let interrupted = false;
  process.on("SIGINT", function onSigint() {
    if (process.listenerCount("SIGINT") > 1 && !interrupted) return; // the command's own handler decides
    if (interrupted) process.exit(130);
    interrupted = true;
    tracer.recordFailure("interrupted", "interrupted (Ctrl-C)", 130);
    setTimeout(() => process.exit(130), 2000);
    void tracer.finish().finally(() => process.exit(130));
  });
}
