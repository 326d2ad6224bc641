import { BaseCommand } from "../cli/base-command.js";
import { processorLabel } from "../cli/processor-label.js";
import { formatBytes, renderTable } from "../cli/render.js";
import type { PsResponse } from "../protocol/native.js";

export default class Ps extends BaseCommand<typeof Ps> {
  static override summary = "List loaded models: memory, where they run (CPU/GPU), active requests and when each unloads.";

  async run(): Promise<PsResponse> {
    const ps = await (await this.client()).ps();
    this.say(
      renderTable(ps.models, [
        { header: "NAME", get: (m) => m.name },
        { header: "SIZE", get: (m) => formatBytes(m.size), align: "right" },
        { header: "PROCESSOR", get: (m) => processorLabel(m.size, m.size_vram) },
        { header: "ACTIVE", get: (m) => String(m.active_requests), align: "right" },
        { header: "QUEUED", get: (m) => String(m.queued_requests), align: "right" },
        { header: "UNTIL", get: (m) => (m.expires_at ? new Date(m.expires_at).toLocaleTimeString() : "forever") },
      ]),
    );
    return ps;
  }
}
