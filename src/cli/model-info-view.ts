/** `mlxm show` for people: Ollama-style sections of aligned key/value lines. */
import type { ShowResponse } from "../protocol/show.js";
import { formatBytes } from "./render.js";

function section(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`  ${title}`, ...rows.map(([k, v]) => `    ${k.padEnd(width)}    ${v}`)].join("\n");
}

function runsOn(offload: ShowResponse["mlxm"]["offload"]): string {
  if (!offload) return "not loaded";
  if (offload.backend === "cpu" || offload.gpu_layers === 0) return offload.backend === "cpu" ? "CPU" : `CPU (no layers on ${offload.backend})`;
  return `${offload.backend.toUpperCase()}: ${offload.gpu_layers}/${offload.total_layers} layers on the GPU`;
}

export function renderModelInfo(info: ShowResponse): string {
  const m = info.mlxm;
  if (info.remote_model !== undefined) {
    // A routed name: no architecture, files or template to show, only where requests for it go.
    const rows: [string, string][] = [["name", m.name], ["provider", m.family], ["upstream model", info.remote_model], ["host", info.remote_host ?? ""], ["source", m.source]];
    return `${section("Route", rows)}\n`;
  }
  const parts = [
    section("Model", [
      ["name", m.name],
      ["architecture", m.architecture],
      ["parameters", `${m.parameter_size} (${m.parameter_count.toLocaleString("en-US")})`],
      ["quantization", m.quantization],
      ["context length", m.context_length === null ? "unknown" : String(m.context_length)],
      ["embedding length", m.embedding_length === null ? "unknown" : String(m.embedding_length)],
      ["chat template", m.has_chat_template ? "yes" : "no (prompts are sent as plain text)"],
      ["runs on", runsOn(m.offload)],
      ["source", m.source],
      ["digest", m.digest],
    ]),
    section("Files", [...m.files.map((f): [string, string] => [f.filename, `${formatBytes(f.size)}  ${f.path}`]), ["total", formatBytes(m.size)]]),
  ];
  if (m.parent || m.preset) {
    const rows: [string, string][] = [];
    if (m.parent) rows.push(["from", m.parent]);
    if (m.preset?.system !== undefined) rows.push(["system", m.preset.system]);
    for (const line of info.parameters ? info.parameters.split("\n") : []) {
      const [key, ...value] = line.trim().split(/\s+/);
      rows.push([key!, value.join(" ")]);
    }
    parts.push(section("Preset", rows));
  }
  if (m.notes.length) parts.push(["  Notes", ...m.notes.map((n) => `    ${n}`)].join("\n"));
  return `${parts.join("\n\n")}\n`;
}
