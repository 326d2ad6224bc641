/**
 * Run the daemon until SIGINT/SIGTERM, then drain and return. Used by `mlxm serve` (foreground, launchd,
 * systemd) and by the background daemon `mlxm daemon start` spawns.
 */
import type { MlxmConfig } from "../config/config.js";
import type { Logger } from "../observability/logger.js";
import { daemonObservability } from "../observability/daemon-setup.js";
import { startDaemon } from "./main.js";

export async function runDaemonUntilSignalled(options: { config: MlxmConfig; logger: Logger; version: string }): Promise<void> {
  const daemon = await startDaemon(options);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C means "now": skip the rest of the grace period.
      options.logger.warn({ signal }, "second signal: exiting without waiting");
      process.exit(130);
    }
    options.logger.info({ signal }, "signal received");
    void daemon.close();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await daemon.closed;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // The local store is complete by now; remote backends get a bounded last chance and what they miss is dropped.
  const observability = daemonObservability();
  if (observability) {
    const dropped = await observability.shutdown().catch(() => 0);
    if (dropped) options.logger.warn({ dropped, exporters: observability.exporters() }, "trace export: spans dropped at shutdown (backend unreachable or slow)");
  }
}
