import { BaseCommand } from "../../cli/base-command.js";
import { probe } from "../../cli/daemon-control.js";
import { formatBytes, formatDuration } from "../../cli/render.js";
import { ExitCode } from "../../cli/exit-codes.js";
import { runningDaemon } from "../../home/pid-file.js";
import { renderExporters } from "../../cli/exporter-view.js";
import type { ExporterState } from "../../protocol/native.js";
import type { AcceleratorState } from "../../protocol/native.js";

export interface DaemonStatusResult {
  running: boolean;
  status?: string;
  pid?: number;
  address?: string;
  version?: string;
  uptime_s?: number;
  home: string;
  /** Remote trace exporters (Logfire, OTLP) and how they fare. */
  exporters?: ExporterState[];
  /** "launchd" or "systemd" when the daemon runs as `mlxm service`. */
  service?: string;
  /** The compute backend, devices and VRAM (once the engine's binding is up). */
  accelerator?: AcceleratorState;
}

export default class DaemonStatus extends BaseCommand<typeof DaemonStatus> {
  static override summary = "Say whether the daemon runs: pid, address, version, uptime, trace exporters. Exit code 3 when it does not.";

  async run(): Promise<DaemonStatusResult> {
    const health = await probe(this.rawClient());
    const home = this.settings.home;
    if (!health) {
      const pidFile = runningDaemon(home);
      const result: DaemonStatusResult = { running: false, home, pid: pidFile?.pid };
      this.say(pidFile ? `daemon process ${pidFile.pid} exists but does not answer at ${this.settings.baseUrl}` : `no mlxm daemon running (${this.settings.baseUrl})`);
      if (this.jsonEnabled()) this.logJson(result);
      this.exit(ExitCode.DAEMON_UNREACHABLE);
    }
    const result: DaemonStatusResult = {
      running: true,
      status: health.status,
      pid: health.pid,
      address: health.address,
      version: health.version,
      uptime_s: health.uptime_s,
      home: health.home ?? home,
      exporters: health.exporters,
      ...(health.service ? { service: health.service } : {}),
      ...(health.accelerator ? { accelerator: health.accelerator } : {}),
    };
    this.say(
      [
        `mlxm daemon ${health.status}`,
        `  pid      ${health.pid}`,
        `  address  http://${health.address}`,
        `  version  ${health.version}`,
        `  uptime   ${formatDuration((health.uptime_s ?? 0) * 1000)}`,
        `  home     ${result.home}`,
        ...(health.service ? [`  service  managed by ${health.service} (mlxm service)`] : []),
        `  compute  ${describeAccelerator(health.accelerator)}`,
        ...renderExporters(health.exporters),
      ].join("\n"),
    );
    return result;
  }
}

function describeAccelerator(a: AcceleratorState | undefined): string {
  if (!a) return "starting";
  const asked = a.requested === "auto" ? "" : ` (MLXM_GPU=${a.requested})`;
  const binary = a.binary ? `, ${a.binary === "local" ? "local build" : "prebuilt"} llama.cpp` : "";
  if (a.backend === "cpu") return `CPU${asked}${binary}`;
  const devices = a.devices.length ? ` ${a.devices.join(", ")}` : "";
  return `${a.backend.toUpperCase()}${devices}${asked}, VRAM ${formatBytes(a.vram_free)} free of ${formatBytes(a.vram_total)}${binary}`;
}
