// scratch A/B: alternate pulls from two checkouts against one fake hub
import { spawn } from "node:child_process";
import fs from "node:fs"; import os from "node:os"; import path from "node:path"; import readline from "node:readline";
import { FakeHub, testBytes } from "../test/helpers/fake-hub.js";
const MiB = 1024 * 1024; const size = Number(process.argv[2] ?? 1024) * MiB; const runs = Number(process.argv[3] ?? 3);
const trees = process.argv.slice(4);
const hub = await FakeHub.start({ repos: [{ id: "b/B", files: [{ path: "b-Q4_K_M.gguf", content: testBytes(size, 42) }] }] });
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ab-"));
for (let r = 0; r < runs; r++) for (const tree of trees) {
  const home = path.join(work, "h"); 
  const wrap = process.env.WRAP ? process.env.WRAP.replace("TREE", path.basename(tree)).split(" ") : [];
  const child = spawn(wrap[0] ?? process.execPath, [...(wrap.length ? [...wrap.slice(1), process.execPath] : []), "--import", "tsx", path.join(tree.split("#")[0], "test/helpers/pull-child.ts"), JSON.stringify({ home, endpoint: hub.url, ref: "hf.co/b/B:Q4_K_M", download: { chunkSize: 64 * MiB, concurrency: 4, ...JSON.parse(tree.includes("#") ? tree.split("#")[1] : "{}") } })], { cwd: tree.split("#")[0], stdio: ["ignore", "pipe", "inherit"] });
  for await (const t of readline.createInterface({ input: child.stdout })) { const l = JSON.parse(t); if (l.done) { const s = l.stats; console.log(tree.padEnd(40), `dur ${(s.durationMs/1000).toFixed(2)} dl ${(s.downloadMs/1000).toFixed(2)} verify ${s.verifyMs.toFixed(0)} hashMs ${s.hashMs.toFixed(0)} inMem ${((s.hashedInMemory??0)/MiB).toFixed(0)}MiB cpu ${((l.cpu_ms.user+l.cpu_ms.system)/1000).toFixed(2)} (sys ${(l.cpu_ms.system/1000).toFixed(2)})`); } if (l.error) console.log(l.error); }
  fs.rmSync(home, { recursive: true, force: true });
}
await hub.close(); fs.rmSync(work, { recursive: true, force: true });
