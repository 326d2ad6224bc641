import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { migrateToLatest, openDatabase } from "../../src/daemon/store/database.js";
import { ensureHome, ensurePrivateFile, HomeError } from "../../src/home/home-dir.js";
import { appendToSpool, spoolPath } from "../../src/home/spool.js";
import { makeTempHome } from "../helpers/temp-home.js";

describe("MLXM_HOME creation", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ home: dir, cleanup } = makeTempHome()));
  afterEach(() => cleanup());

  it("creates a home and its missing parents, and leaves nothing else in it", () => {
    const home = path.join(dir, "a", "b", "home");
    ensureHome(home);
    expect(fs.statSync(home).isDirectory()).to.equal(true);
    expect(fs.readdirSync(home)).to.deep.equal([]);
    ensureHome(home);
  });

  it("makes a new home 0700, and tightens an existing one that others may read without failing", () => {
    const home = path.join(dir, "home");
    expect(ensureHome(home)).to.deep.equal({ tightened: false });
    expect(modeOf(home)).to.equal(0o700);
    fs.chmodSync(home, 0o755);
    expect(ensureHome(home)).to.deep.equal({ tightened: true });
    expect(modeOf(home)).to.equal(0o700);
  });

  it("creates private files 0600 and tightens looser ones", () => {
    const file = path.join(dir, "state");
    ensurePrivateFile(file);
    expect(modeOf(file)).to.equal(0o600);
    fs.writeFileSync(file, "kept");
    fs.chmodSync(file, 0o644);
    ensurePrivateFile(file);
    expect(modeOf(file)).to.equal(0o600);
    expect(fs.readFileSync(file, "utf8")).to.equal("kept");
  });

  it("creates the database and its -wal and -shm 0600, and tightens an older 0644 set", async () => {
    const file = path.join(dir, "home", "mlxm.db");
    const files = [file, `${file}-wal`, `${file}-shm`];
    const first = openDatabase({ file });
    await migrateToLatest(first);
    for (const f of files) expect(modeOf(f), path.basename(f)).to.equal(0o600);
    expect(modeOf(path.dirname(file))).to.equal(0o700);
    // As an older version left them, still open (so the -wal and -shm stay): the next open tightens them.
    for (const f of files) fs.chmodSync(f, 0o644);
    const second = openDatabase({ file });
    await migrateToLatest(second);
    for (const f of files) expect(modeOf(f), `${path.basename(f)} reopened`).to.equal(0o600);
    await second.destroy();
    await first.destroy();
  });

  it("spools a CLI span into a private home it creates", () => {
    const home = path.join(dir, "fresh");
    expect(appendToSpool(home, { name: "mlxm ls" })).to.equal(true);
    expect(modeOf(home)).to.equal(0o700);
    expect(modeOf(spoolPath(home))).to.equal(0o600);
  });

  it("refuses a home under a file, or that is a file, with the system's reason", () => {
    const file = path.join(dir, "file");
    fs.writeFileSync(file, "");
    for (const home of [file, path.join(file, "home")]) {
      const err = catchError(() => ensureHome(home));
      expect(err).to.be.instanceOf(HomeError);
      expect(err.message).to.contain(`MLXM_HOME=${home}`).and.match(/ENOTDIR|not a directory/);
    }
  });

  it("refuses a directory it cannot write (procfs answers ENOENT where a disk says EACCES)", function () {
    if (!fs.existsSync("/proc/self")) this.skip();
    const err = catchError(() => ensureHome("/proc"));
    expect(err).to.be.instanceOf(HomeError);
    expect((err as HomeError).code).to.equal("home_unusable");
  });
});

function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function catchError(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}
