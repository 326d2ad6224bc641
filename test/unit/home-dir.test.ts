import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { ensureHome, HomeError } from "../../src/home/home-dir.js";
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

function catchError(fn: () => void): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}
