import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { KyselyPlugin } from "kysely";
import { sql } from "../../src/daemon/store/kysely-runtime.js";
import { ModelsRepo } from "../../src/daemon/store/repos/models-repo.js";
import { Store } from "../../src/daemon/store/store.js";
import { MIGRATIONS } from "../../src/daemon/store/migrations/index.js";

describe("store migrations", () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-store-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("creates every table, records each migration and uses WAL", async () => {
    const file = path.join(dir, "mlxm.db");
    const store = await Store.open(file);
    const tables = (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(store.db)).rows.map((r) => r.name);
    for (const t of ["models", "blobs", "model_files", "pulls", "routes", "api_keys", "requests", "spans", "settings"]) {
      expect(tables).to.include(t);
    }
    const recorded = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db)).rows.map((r) => r.name);
    expect(recorded).to.deep.equal(Object.keys(MIGRATIONS).sort());
    const mode = (await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db)).rows[0]!.journal_mode;
    expect(mode).to.equal("wal");
    const busy = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(store.db)).rows[0]!.timeout;
    expect(busy).to.be.greaterThan(0);
    await store.close();
  });

  it("is idempotent: reopening runs nothing twice and keeps data", async () => {
    const file = path.join(dir, "mlxm.db");
    const first = await Store.open(file);
    await first.settings.set("k", "v");
    await first.close();
    const second = await Store.open(file);
    expect(await second.settings.get("k")).to.equal("v");
    const count = (await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(second.db)).rows[0]!.n;
    expect(count).to.equal(Object.keys(MIGRATIONS).length);
    await second.close();
  });
});

describe("models repo", () => {
  it("stores identical blobs once and frees them only when no model uses them", async () => {
    const store = await Store.open(":memory:");
    const base = { source: "hf", repo: "o/r", revision: "main", quant: "Q8_0", format: "gguf", family: "llama",
      parameter_size: "1M", context_length: 2048, size_bytes: 10, details_json: "{}" };
    const file = { filename: "m.gguf", digest: "sha256:aa", sizeBytes: 10, path: "/blobs/sha256-aa" };
    await store.models.upsert({ ...base, name: "a", digest: "sha256:aa" }, [file]);
    await store.models.upsert({ ...base, name: "b", digest: "sha256:aa" }, [file]);
    const blobs = await store.db.selectFrom("blobs").selectAll().execute();
    expect(blobs).to.have.length(1);

    const first = await store.models.delete("a");
    expect(first).to.deep.equal({ deleted: true, orphanBlobs: [] });
    const second = await store.models.delete("b");
    expect(second.orphanBlobs.map((b) => b.digest)).to.deep.equal(["sha256:aa"]);
    expect(await store.models.delete("b")).to.deep.equal({ deleted: false, orphanBlobs: [] });
    await store.close();
  });
});

describe("models repo lookup cache", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlxm-lookup-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const base = { source: "hf", repo: "o/r", revision: "main", quant: "Q8_0", format: "gguf", family: "llama",
    parameter_size: "1M", context_length: 2048, size_bytes: 10, details_json: "{}" };
  const file = { filename: "m.gguf", digest: "sha256:aa", sizeBytes: 10, path: "/blobs/sha256-aa" };

  it("answers repeated lookups from memory, and sees writes from this repo, another repo and another connection", async () => {
    const dbFile = path.join(dir, "mlxm.db");
    let modelQueries = 0;
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        const node = args.node as { kind: string; from?: { froms: { table?: { identifier?: { name: string } } }[] } };
        if (node.kind === "SelectQueryNode" && node.from?.froms[0]?.table?.identifier?.name === "models") modelQueries++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const store = await Store.open(dbFile, [counting]);
    const other = await Store.open(dbFile); // a second connection, as the CLI or a test would open
    try {
      expect(await store.models.lookup("a")).to.equal(undefined);
      expect(await store.models.lookup("a")).to.equal(undefined);
      expect(modelQueries, "a repeated miss is answered from memory").to.equal(1);

      await other.models.upsert({ ...base, name: "a", digest: "sha256:aa" }, [file]);
      const found = await store.models.lookup("a");
      expect(found?.name, "another connection's commit invalidates").to.equal("a");
      found!.quant = "changed by a caller";
      const before = modelQueries;
      expect((await store.models.lookup("a"))?.quant, "hits are copies").to.equal("Q8_0");
      expect(modelQueries).to.equal(before);

      await store.models.delete("a");
      expect(await store.models.lookup("a"), "this repo's own write invalidates").to.equal(undefined);

      // Another repo object on the same connection: its writes count too (data_version only sees other connections).
      await new ModelsRepo(store.db).upsert({ ...base, name: "a", digest: "sha256:aa" }, [file]);
      expect((await store.models.lookup("a"))?.name).to.equal("a");
    } finally {
      await other.close();
      await store.close();
    }
  });
});
