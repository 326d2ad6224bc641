import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { ProgressJournal, progressPathOf, type PartialProgressFile } from "../../src/daemon/hub/download/partial-progress.js";
import type { ByteRange } from "../../src/daemon/hub/download/byte-ranges.js";
import { makeTempHome } from "../helpers/temp-home.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("progress journal (partial download sidecar)", () => {
  let tmp: { home: string; cleanup: () => void };
  let partial: string;
  beforeEach(() => {
    tmp = makeTempHome("mlxm-journal-");
    partial = path.join(tmp.home, "blob.partial");
  });
  afterEach(() => tmp.cleanup());

  const sidecar = () => JSON.parse(fs.readFileSync(progressPathOf(partial), "utf8")) as PartialProgressFile;

  async function until(check: () => boolean): Promise<void> {
    const ok = () => {
      try {
        return check();
      } catch {
        return false; // no sidecar yet
      }
    };
    for (let i = 0; i < 200 && !ok(); i++) await sleep(5);
    expect(ok()).to.equal(true);
  }

  it("flushes data often but fsyncs the sidecar at most once per interval, carrying the durable list in plain saves", async () => {
    let written: ByteRange[] = [[0, 10]];
    let flushes = 0;
    const journal = new ProgressJournal(partial, { digest: "sha256:x", size: 100 }, () => written, {
      datasync: async () => {
        flushes++;
      },
    }, { durableIntervalMs: 0, recordSyncIntervalMs: 60_000, boot: "b" });
    for (const end of [20, 30, 40]) {
      written = [[0, end]];
      journal.request();
      await until(() => journal.durableSaves === end / 10 - 1 && sidecar().durable[0]?.[1] === end);
    }
    expect(flushes).to.equal(3);
    // Only the first flush's save was fsync'ed; the later durable lists reached the sidecar in plain saves.
    expect(journal.syncedSaves).to.equal(1);
    expect(sidecar().durable).to.deep.equal([[0, 40]]);
    // The final flush always syncs.
    await journal.flush();
    expect(journal.syncedSaves).to.equal(2);
    expect(sidecar()).to.include({ durable_mode: true, boot: "b" });
  });

  it("keeps saving written ranges while a data flush hangs, and never claims bytes written during a flush as durable", async () => {
    let written: ByteRange[] = [[0, 10]];
    let release!: () => void;
    const journal = new ProgressJournal(partial, { digest: "sha256:x", size: 100 }, () => written, {
      datasync: () => new Promise<void>((r) => (release = r)),
    }, { durableIntervalMs: 0, boot: "b" });
    journal.request(); // starts a flush of [0, 10) that does not finish yet
    written = [[0, 50]];
    journal.request();
    await until(() => sidecar().written[0]?.[1] === 50);
    expect(sidecar().durable).to.deep.equal([]);
    release();
    await until(() => journal.durableSaves === 1 && sidecar().durable.length === 1);
    expect(sidecar().durable).to.deep.equal([[0, 10]]);
    await journal.idle();
  });
});
