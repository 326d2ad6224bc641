/**
 * Compares two V8 heap snapshots (bench/soak.ts writes them): objects grouped by type and constructor name, sorted
 * by how much their retained-by-count and self size grew. What grew by thousands between two points with no
 * request in flight is what the daemon keeps per request.
 *
 *   npx tsx bench/heap-diff.ts early.heapsnapshot late.heapsnapshot [--top 30]
 */
import fs from "node:fs";

interface Group {
  count: number;
  size: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size per "type:name" (strings grouped by type only: their names are their contents). */
function groups(file: string): Map<string, Group> {
  const snap = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, Group>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = type === "string" || type === "concatenated string" || type === "sliced string" || type === "number" ? "" : snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 80);
    const key = `${type}:${name}`;
    const g = out.get(key) ?? { count: 0, size: 0 };
    g.count++;
    g.size += snap.nodes[i + sizeAt]!;
    out.set(key, g);
  }
  return out;
}

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith("--"));
const topIndex = process.argv.indexOf("--top");
const TOP = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
if (!a || !b) throw new Error("usage: heap-diff.ts early.heapsnapshot late.heapsnapshot");
const before = groups(a);
const after = groups(b);
const rows = [...new Set([...before.keys(), ...after.keys()])].map((key) => {
  const x = before.get(key) ?? { count: 0, size: 0 };
  const y = after.get(key) ?? { count: 0, size: 0 };
  return { key, count: y.count - x.count, size: y.size - x.size, total: y.size };
});
const total = (m: Map<string, Group>) => [...m.values()].reduce((s, g) => s + g.size, 0);
console.log(`self size: ${(total(before) / 2 ** 20).toFixed(1)} MiB -> ${(total(after) / 2 ** 20).toFixed(1)} MiB`);
console.log("| type:constructor | count Δ | self size Δ (KiB) | self size at end (KiB) |\n|---|---|---|---|");
for (const r of rows.sort((p, q) => q.size - p.size).slice(0, TOP)) {
  console.log(`| ${r.key.replace(/\|/g, "\\|")} | ${r.count} | ${(r.size / 1024).toFixed(1)} | ${(r.total / 1024).toFixed(1)} |`);
}
