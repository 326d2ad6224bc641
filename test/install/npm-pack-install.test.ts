/**
 * The package as users get it: `npm pack`, then a real `npm install -g <tarball>` into a temporary prefix, and the
 * installed `mlxm` (not this checkout) runs a daemon and a model.
 *
 * Why not `--offline`: installing a tarball resolves its dependency ranges afresh, which needs each dependency's
 * registry metadata (packument). `npm ci` fills the npm cache from the lockfile by version and integrity only, so the
 * cache holds every tarball but no packument: an offline install fails with ENOTCACHED on the first one it needs
 * (`xmlbuilder` was merely the first). `--prefer-offline` takes tarballs from that cache and fetches only what is
 * missing from the registry. (An `npm-shrinkwrap.json` would not help: npm reads it only from registry packages.)
 *
 * Native modules are not rebuilt. node-llama-cpp ships prebuilt binaries as optional dependencies. better-sqlite3's
 * install script (allowed with `--allow-scripts`, npm 11) looks for a local prebuild before downloading one from
 * GitHub, which this machine cannot reach, or compiling SQLite; the test hands it this checkout's own binary,
 * packed as the release prebuild would be. `npm test` builds first, so packing skips the prepack build.
 */
import { expect } from "chai";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { cliEnv, type CliResult } from "../helpers/cli.js";
import { freePort } from "../helpers/free-port.js";
import { makeTempHome } from "../helpers/temp-home.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const execFileAsync = promisify(execFile);

/** better-sqlite3's compiled binary from this checkout, as the prebuild tarball its install script looks for. */
async function betterSqlitePrebuild(dir: string): Promise<void> {
  const pkgDir = path.join(ROOT, "node_modules", "better-sqlite3");
  const { version } = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { version: string };
  // prebuild-install's name for a glibc build: {name}-v{version}-node-v{abi}-{platform}-{arch}.tar.gz
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  fs.mkdirSync(dir, { recursive: true });
  await execFileAsync("tar", ["-czf", path.join(dir, name), "-C", pkgDir, "build/Release/better_sqlite3.node"]);
}

describe("npm pack and install", function () {
  // A cold daemon start (the OpenTelemetry SDK import) and a generation: minutes on a loaded 2-core machine.
  this.timeout(240_000);
  let tmp: { home: string; cleanup: () => void };
  let bin: string;
  let pkgDir: string;
  let install: { stdout: string; stderr: string };
  let env: { home: string; port: number; extra: Record<string, string> };
  before(async function () {
    // The install writes ~550 packages (~1 GiB, mostly node-llama-cpp's GPU builds); on a loaded machine with
    // packuments to fetch it took 10 minutes, from a warm cache 4.
    this.timeout(900_000);
    tmp = makeTempHome("mlxm-pack-");
    const packed = await execFileAsync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp.home], { cwd: ROOT, encoding: "utf8" });
    const [{ filename, files }] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const paths = files.map((f) => f.path);
    expect(paths).to.include.members(["bin/run.js", "oclif.manifest.json", "dist/commands/serve.js", "package.json"]);
    expect(paths.filter((p) => p.startsWith("src/") || p.startsWith("test/"))).to.deep.equal([]);

    const prefix = path.join(tmp.home, "prefix");
    const prebuilds = path.join(tmp.home, "prebuilds");
    await betterSqlitePrebuild(prebuilds);
    install = await execFileAsync(
      "npm",
      ["install", "--global", "--prefix", prefix, "--prefer-offline", "--allow-scripts=better-sqlite3", "--foreground-scripts", path.join(tmp.home, filename)],
      // Outside the checkout, so no project .npmrc or workspace applies.
      { cwd: tmp.home, encoding: "utf8", maxBuffer: 64 * 2 ** 20, env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds } },
    );
    pkgDir = path.join(prefix, "lib", "node_modules", "mlxm");
    bin = path.join(prefix, "bin", "mlxm");
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

  it("installs production dependencies only, with better-sqlite3 from its prebuild (nothing compiled)", () => {
    const installed = fs.readdirSync(path.join(pkgDir, "node_modules"));
    expect(installed).to.include.members(["better-sqlite3", "node-llama-cpp", "@oclif", "express"]);
    for (const dev of ["typescript", "mocha", "tsx", "oclif", "chai", "fast-check"]) expect(installed, dev).not.to.include(dev);
    expect(fs.existsSync(path.join(pkgDir, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))).to.equal(true);
    expect(install.stdout + install.stderr).not.to.match(/gyp info|CXX\(target\)/);
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
