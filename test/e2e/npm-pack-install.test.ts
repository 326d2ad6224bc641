/**
 * The package as users get it: `npm pack`, then an install of that tarball into a temporary prefix, and the
 * installed `mlxm` (not this checkout) runs a daemon and a model. This machine has no registry access for a clean
 * `npm install -g` (its npm cache lacks packuments), so the install is done by hand as npm -g lays it out: the
 * tarball unpacked to <prefix>/lib/node_modules/mlxm, its dependencies linked from this checkout's node_modules,
 * and <prefix>/bin/mlxm linked to the package's bin. `npm test` builds first, so packing skips the prepack build.
 */
import { expect } from "chai";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cliEnv, type CliResult } from "../helpers/cli.js";
import { freePort } from "../helpers/free-port.js";
import { makeTempHome } from "../helpers/temp-home.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("npm pack and install", function () {
  // Packing, a cold daemon start (the OpenTelemetry SDK import) and a generation: minutes on a loaded 2-core machine.
  this.timeout(240_000);
  let tmp: { home: string; cleanup: () => void };
  let bin: string;
  let env: { home: string; port: number; extra: Record<string, string> };
  before(async () => {
    tmp = makeTempHome("mlxm-pack-");
    const out = execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp.home], { cwd: ROOT, encoding: "utf8" });
    const [{ filename, files }] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    const paths = files.map((f) => f.path);
    expect(paths).to.include.members(["bin/run.js", "oclif.manifest.json", "dist/commands/serve.js", "package.json"]);
    expect(paths.filter((p) => p.startsWith("src/") || p.startsWith("test/"))).to.deep.equal([]);
    const pkgDir = path.join(tmp.home, "prefix", "lib", "node_modules", "mlxm");
    fs.mkdirSync(pkgDir, { recursive: true });
    execFileSync("tar", ["-xzf", path.join(tmp.home, filename), "-C", pkgDir, "--strip-components=1"]);
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(pkgDir, "node_modules"), "dir");
    fs.mkdirSync(path.join(tmp.home, "prefix", "bin"));
    bin = path.join(tmp.home, "prefix", "bin", "mlxm");
    fs.symlinkSync(path.join(pkgDir, "bin", "run.js"), bin);
    // A generous start timeout: a first start imports the whole OpenTelemetry SDK from a cold cache.
    env = { home: path.join(tmp.home, "mlxm-home"), port: await freePort(), extra: { MLXM_START_TIMEOUT: "120s" } };
  });
  after(() => tmp?.cleanup());

  const mlxm = (args: string[]) =>
    new Promise<CliResult>((resolve, reject) => {
      // Run from outside the checkout, through the installed bin link, as a shell would.
      const child = spawn(bin, args, { cwd: tmp.home, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });

  it("declares a prepack build, so a clean clone packs a built package", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).to.equal("npm run build");
  });

  it("runs --version, daemon start, run mlxm-tiny and daemon stop from the installed copy", async () => {
    const version = await mlxm(["--version"]);
    expect(version.code, version.stderr).to.equal(0);
    expect(version.stdout).to.match(/^mlxm\/\d+\.\d+\.\d+/);
    const start = await mlxm(["daemon", "start", "--json"]);
    try {
      expect(start.code, start.stdout + start.stderr).to.equal(0);
      const pid = (JSON.parse(start.stdout) as { pid: number }).pid;
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      expect(cmdline).to.contain(path.join("prefix", "lib", "node_modules", "mlxm", "bin", "run.js"));
      const run = await mlxm(["run", "mlxm-tiny", "hi", "--max-tokens", "4"]);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout.length).to.be.greaterThan(0);
    } finally {
      const stop = await mlxm(["daemon", "stop"]);
      expect(stop.code, stop.stderr).to.equal(0);
    }
  });
});
