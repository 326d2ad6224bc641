/** Where a loaded model runs, as `ollama ps` words it: "100% GPU", "48%/52% CPU/GPU" or "100% CPU". */
export function processorLabel(sizeBytes: number, vramBytes: number): string {
  if (vramBytes <= 0 || sizeBytes <= 0) return "100% CPU";
  if (vramBytes >= sizeBytes) return "100% GPU";
  const cpuPercent = Math.round(((sizeBytes - vramBytes) / sizeBytes) * 100);
  // Rounding can say 100% or 0% of a split model; it is on both, so say at least 1% each.
  const cpu = Math.min(99, Math.max(1, cpuPercent));
  return `${cpu}%/${100 - cpu}% CPU/GPU`;
}
