/** Usage rows are written in batches; no reader and no stop may miss one. */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "../../src/daemon/store/kysely-runtime.js";
import { Store } from "../../src/daemon/store/store.js";

const row = (i: number) => ({
  id: `r${i}`, trace_id: null, method: "POST", route: "/v1/chat/completions", model: "m", status_code: 200, duration_ms: 1,
  input_tokens: 2, output_tokens: 3, error: null, created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), api: "openai",
  backend: "local", cached_tokens: null, cache_creation_tokens: null, ttft_ms: 1, cost_usd: 0,
});

describe("requests repo", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-requests-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("shows queued rows to every reader at once, and writes more rows than one statement takes", async () => {
    const store = await Store.open(path.join(dir, "mlxm.db"));
    const written = Array.from({ length: 120 }, (_, i) => store.requests.insert(row(i)));
    expect(await store.requests.recent(200)).to.have.length(120);
    const [total] = await store.requests.summarise("2000-01-01T00:00:00Z", undefined);
    expect(total).to.include({ requests: 120, input_tokens: 240, output_tokens: 360 });
    await Promise.all(written);
    await store.close();
  });

  it("resolves an insert once its row is in the database, and loses none on close", async () => {
    const file = path.join(dir, "mlxm.db");
    let store = await Store.open(file);
    await store.requests.insert(row(1));
    expect((await sql<{ n: number }>`select count(*) as n from requests`.execute(store.db)).rows[0]!.n).to.equal(1);
    void store.requests.insert(row(2));
    void store.requests.insert(row(3));
    await store.close();
    store = await Store.open(file);
    expect((await store.requests.recent(10)).map((r) => r.id)).to.deep.equal(["r3", "r2", "r1"]);
    await store.close();
  });
});
