/**
 * The built CLI against real daemons in temporary homes, as a user or a script would run it.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { RUN_JS, cliEnv, parseJson, runCli, type CliEnv, freshCliEnv } from "../helpers/cli.js";
import { until } from "../helpers/until.js";
import { isDaemonProcess } from "../../src/home/pid-file.js";

function killFromPidFile(home: string): void {
  try {
    const { pid } = JSON.parse(fs.readFileSync(path.join(home, "daemon.pid"), "utf8")) as { pid: number };
    process.kill(pid, "SIGKILL");
  } catch {
    /* nothing running */
  }
}

describe("mlxm daemon (e2e)", function () {
  // Two daemon starts in a test, with another e2e file beside it on a loaded 2-core machine: a minute is not enough.
  this.timeout(180_000);
  let env: CliEnv;
  let cleanup: () => void;

  beforeEach(async () => {
    ({ env, cleanup } = await freshCliEnv());
  });
  afterEach(() => {
    killFromPidFile(env.home);
    cleanup();
  });

  it("starts, reports status, lists, refuses a second start, stops", async () => {
    const before = await runCli(["daemon", "status", "--json"], env);
    expect(before.code).to.equal(3);
    expect(parseJson(before).running).to.equal(false);

    // A home as an older version left it, readable by others: tightened at start, not refused.
    fs.chmodSync(env.home, 0o755);
    fs.mkdirSync(path.join(env.home, "logs"));
    fs.writeFileSync(path.join(env.home, "logs", "daemon.log"), "", { mode: 0o644 });
    fs.writeFileSync(path.join(env.home, "mlxm.db"), "", { mode: 0o644 });

    const start = await runCli(["daemon", "start", "--json"], env);
    expect(start.code, start.stderr).to.equal(0);
    const started = parseJson(start);
    expect(started.status).to.equal("ready");
    expect(started.pid).to.be.a("number");
    expect(started.log).to.equal(path.join(env.home, "logs", "daemon.log"));
    const modeOf = (file: string) => fs.statSync(path.join(env.home, file)).mode & 0o777;
    expect(modeOf(".")).to.equal(0o700);
    for (const file of ["mlxm.db", "mlxm.db-wal", "mlxm.db-shm", "logs/daemon.log", "admin.token"]) expect(modeOf(file), file).to.equal(0o600);

    const status = await runCli(["daemon", "status", "--json"], env);
    expect(status.code).to.equal(0);
    expect(parseJson(status)).to.include({ running: true, pid: started.pid, address: `127.0.0.1:${env.port}` });
    expect(parseJson(status).uptime_s).to.be.a("number");

    const ls = await runCli(["ls", "--json"], env);
    expect(ls.code, ls.stderr).to.equal(0);
    // A fresh daemon has the built-in model and nothing else.
    expect(parseJson(ls).models.map((m: { name: string }) => m.name)).to.deep.equal(["mlxm-tiny"]);

    // An idle daemon sleeps. It woke 100 times a second for prom-client's event-loop delay sampling (about 1 % of a
    // core, all day, for a background service). Its main thread's voluntary context switches count its wake-ups
    // (Linux): about 200 in 2 s before, about 20 now.
    const statusFile = `/proc/${started.pid}/status`;
    if (fs.existsSync(statusFile)) {
      const wakeUps = () => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(fs.readFileSync(statusFile, "utf8"))![1]);
      const idleFrom = wakeUps();
      await new Promise((r) => setTimeout(r, 2000));
      expect(wakeUps() - idleFrom).to.be.below(80);
    }

    const again = await runCli(["daemon", "start"], env);
    expect(again.code).to.equal(5);
    expect(again.stderr).to.contain(`pid ${started.pid}`);

    // A command pointed at another address of this home does not wait out the start timeout: it says where it runs.
    const elsewhere = await runCli(["ls", "--host", "127.0.0.1:1"], { ...env, extra: { MLXM_START_TIMEOUT: "60s" } });
    expect(elsewhere.code, elsewhere.stderr).to.equal(3);
    expect(elsewhere.stderr).to.contain(`answers at 127.0.0.1:${env.port}`);

    const stop = await runCli(["daemon", "stop", "--json"], env);
    expect(stop.code).to.equal(0);
    // The state after the command, as `daemon status --json` says it (it said `running: true`, meaning "was").
    expect(parseJson(stop)).to.deep.equal({ running: false, stopped: true, pid: started.pid, forced: false });
    expect(fs.existsSync(path.join(env.home, "daemon.pid"))).to.equal(false);
    const after = await runCli(["daemon", "status", "--json"], env);
    expect(after.code).to.equal(3);
    expect(parseJson(after).running).to.equal(false);
    const stopAgain = await runCli(["daemon", "stop", "--json"], env);
    expect(stopAgain.code).to.equal(0);
    expect(parseJson(stopAgain)).to.deep.equal({ running: false, stopped: false });

    const logs = await runCli(["daemon", "logs", "-n", "50"], env);
    expect(logs.stdout).to.contain("mlxm daemon ready").and.to.contain("mlxm daemon stopped");
    const none = await runCli(["daemon", "logs", "-n", "0"], env);
    expect([none.code, none.stdout]).to.deep.equal([0, ""]);
    expect((await runCli(["daemon", "logs", "-n", "-5"], env)).code).to.equal(2);
  });

  // One test for both, so the daemon autostart brings up is the one killed (a daemon start is most of a test's time).
  it("autostarts for other commands unless told not to, and recovers from a stale pid file left by kill -9", async () => {
    const off = await runCli(["ls", "--json", "--no-autostart"], env);
    expect(off.code).to.equal(3);
    expect(parseJson(off).error.code).to.equal("daemon_unreachable");
    const offByEnv = await runCli(["ls"], { ...env, extra: { MLXM_NO_AUTOSTART: "1" } });
    expect(offByEnv.code).to.equal(3);
    expect(offByEnv.stderr).to.contain("autostart is off");

    const on = await runCli(["ls", "--json"], env);
    expect(on.code, on.stderr).to.equal(0);
    expect(parseJson(on).models.map((m: { name: string }) => m.name)).to.deep.equal(["mlxm-tiny"]);
    const first = parseJson(await runCli(["daemon", "status", "--json"], env));
    expect(first.running).to.equal(true);

    process.kill(first.pid, "SIGKILL");
    await until(() => !isDaemonProcess(first.pid), "the killed daemon to be gone");
    expect(fs.existsSync(path.join(env.home, "daemon.pid"))).to.equal(true);

    const second = await runCli(["daemon", "start", "--json"], env);
    expect(second.code, second.stderr).to.equal(0);
    expect(parseJson(second).pid).to.not.equal(first.pid);
    expect((await runCli(["daemon", "stop"], env)).code).to.equal(0);
  });

  it("names the port when something else already listens on it", async () => {
    const blocker = net.createServer((s) => s.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"));
    await new Promise<void>((r) => blocker.listen(env.port, "127.0.0.1", () => r()));
    try {
      // One after the other: side by side on one home, whichever takes the daemon lock first makes the other fail on
      // that lock instead of the port (a flaky CI run).
      const res = await runCli(["daemon", "start"], env);
      const fg = await runCli(["serve"], env);
      expect(res.code).to.not.equal(0);
      expect(res.stderr).to.contain(`port ${env.port}`);
      expect(fg.code).to.equal(1);
      expect(fg.stderr).to.contain(`port ${env.port}`);
    } finally {
      blocker.close();
    }
  });

  it("serve runs in the foreground, refuses a second instance and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [RUN_JS, "serve"], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      // The deadline only bounds a broken start: a loaded machine can take well over ten seconds.
      await until(() => out.includes("mlxm daemon ready"), "the foreground daemon to say it is ready", 120_000);

      const [second, underSystemd, underLaunchd] = await Promise.all([
        runCli(["serve"], env),
        runCli(["serve"], { ...env, extra: { MLXM_SERVICE: "systemd" } }),
        runCli(["serve"], { ...env, extra: { MLXM_SERVICE: "launchd" } }),
      ]);
      expect(second.code).to.equal(5);
      expect(second.stderr).to.contain(`pid ${child.pid}`);
      // systemd skips exit 5 (RestartPreventExitStatus); launchd's KeepAlive only skips a successful exit.
      expect(underSystemd.code).to.equal(5);
      expect(underLaunchd.code, underLaunchd.stderr).to.equal(0);
      expect(underLaunchd.stderr).to.contain(`pid ${child.pid}`).and.contain("so that launchd does not restart this service");

      child.kill("SIGTERM");
      expect(await exited).to.equal(0);
      expect(out).to.contain("mlxm daemon stopped");
    } finally {
      // A failed test must not leave a daemon running (it writes no pid file before it has started).
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

describe("mlxm CLI basics (e2e)", function () {
  this.timeout(30_000);
  const env: CliEnv = { home: "/nonexistent-mlxm-home", port: 1 };

  it("prints its version and help", async () => {
    const v = await runCli(["--version"], env);
    expect(v.code).to.equal(0);
    expect(v.stdout).to.match(/^mlxm\/\d+\.\d+\.\d+/);
    const h = await runCli(["help"], env);
    expect(h.code).to.equal(0);
    for (const cmd of ["serve", "ls", "ps", "daemon"]) expect(h.stdout).to.contain(cmd);
  });

  it("lists every environment variable in serve --help", async () => {
    const { VARIABLES } = await import("../../src/config/variables.js");
    const h = await runCli(["serve", "--help"], env);
    for (const v of VARIABLES) expect(h.stdout).to.contain(v.name);
  });

  it("exits 2 on usage errors", async () => {
    const cases = [
      ["no-such-command"],
      ["ls", "--no-such-flag"],
      // Values outside a flag's options and repeated flags: oclif itself exits 1 for these.
      ["usage", "--by", "colour", "--no-autostart"],
      ["run", "m", "hi", "--format", "yaml", "--no-autostart"],
      ["trace", "--since", "0", "--no-autostart"],
    ];
    const codes = await Promise.all(cases.map(async (args) => [args.join(" "), (await runCli(args, env)).code]));
    expect(codes).to.deep.equal(cases.map((args) => [args.join(" "), 2]));
  });

  it("answers help for an unknown command as running it: the same message and exit 2 (help said otherwise and exited 1)", async () => {
    for (const [id, asked] of [
      ["nosuch", [["help", "nosuch"], ["nosuch", "--help"], ["--help", "nosuch"]]],
      ["daemon nosuch", [["help", "daemon", "nosuch"], ["daemon", "nosuch", "--help"]]],
    ] as const) {
      const [ran, ...helps] = await Promise.all([runCli(id.split(" "), env), ...asked.map((args) => runCli([...args], env))]);
      expect(ran.code).to.equal(2);
      expect(ran.stderr).to.contain(`command "${id}" not found; run \`mlxm help\` for the list`);
      asked.forEach((args, i) => {
        const help = helps[i]!;
        expect({ args, code: help.code, stdout: help.stdout, stderr: help.stderr }).to.deep.equal({ args, code: 2, stdout: "", stderr: ran.stderr });
      });
    }
    // Help for what exists is unchanged.
    const existing = [["help", "daemon"], ["help", "daemon", "stop"], ["daemon", "stop", "--help"]];
    for (const [args, help] of (await Promise.all(existing.map((args) => runCli(args, env)))).map((h, i) => [existing[i]!, h] as const)) {
      expect(help.code, args.join(" ")).to.equal(0);
      expect(help.stdout).to.contain("USAGE");
    }
  });

  it("answers an unknown command with --json, run or asked help for, with the JSON error document and exit 2", async () => {
    const expected = (id: string) => ({ error: { code: "usage_error", message: `command "${id}" not found; run \`mlxm help\` for the list` } });
    for (const [id, asked] of [
      ["nosuch", [["nosuch", "--json"], ["help", "nosuch", "--json"], ["nosuch", "--help", "--json"]]],
      ["daemon nosuch", [["daemon", "nosuch", "--json"], ["help", "daemon", "nosuch", "--json"]]],
    ] as const) {
      const runs = await Promise.all(asked.map((args) => runCli([...args], env)));
      asked.forEach((args, i) => {
        const r = runs[i]!;
        expect({ args, code: r.code, stderr: r.stderr }).to.deep.equal({ args, code: 2, stderr: "" });
        expect(JSON.parse(r.stdout), args.join(" ")).to.deep.equal(expected(id));
      });
    }
    // A flag with no command before it: oclif takes the flag for the command id (`mlxm --json` printed text to stderr).
    for (const args of [["--json"], ["-x", "--json"]]) {
      const r = await runCli(args, env);
      expect({ args, code: r.code, stderr: r.stderr }).to.deep.equal({ args, code: 2, stderr: "" });
      expect(JSON.parse(r.stdout)).to.deep.equal({ error: { code: "usage_error", message: `no command before the flag "${args[0]}"; run \`mlxm help\` for the list` } });
    }
    // An argument a command does not take: oclif reads `ls extra` as the command "ls:extra" (it said "not found").
    for (const [args, command, arg] of [[["ls", "extra", "--json"], "mlxm ls", "extra"], [["daemon", "status", "foo", "--json"], "mlxm daemon status", "foo"]] as const) {
      const r = await runCli([...args], env);
      expect({ args, code: r.code, stderr: r.stderr }).to.deep.equal({ args, code: 2, stderr: "" });
      expect(JSON.parse(r.stdout).error.message).to.equal(`unexpected argument "${arg}" for \`${command}\`; see \`${command} --help\``);
    }
    // After `--`, `--json` is an argument, not the flag.
    const plain = await runCli(["nosuch", "--", "--json"], env);
    expect({ code: plain.code, stdout: plain.stdout }).to.deep.equal({ code: 2, stdout: "" });
  });

  it("prints help for what exists with --json as `<command> --help --json` does, exit 0 (help said 'Nonexistent flag', exit 2)", async () => {
    for (const [args, same] of [
      [["help", "ls", "--json"], ["ls", "--help", "--json"]],
      [["help", "daemon", "status", "--json"], ["daemon", "status", "--help", "--json"]],
      [["help", "--json"], ["--help", "--json"]],
    ]) {
      const [help, direct] = await Promise.all([runCli(args, env), runCli(same, env)]);
      expect({ args, code: help.code, stderr: help.stderr }).to.deep.equal({ args, code: 0, stderr: "" });
      expect(help.stdout, args.join(" ")).to.equal(direct.stdout).and.contain("USAGE");
    }
  });

  it("fails at once, exit 2 with the reason, on a home that cannot be created or written (it spun for ever under /proc)", async function () {
    if (!fs.existsSync("/proc/self")) this.skip();
    // Five CLI starts, `serve` with the daemon's full tracing SDK among them, on a loaded machine.
    this.timeout(180_000);
    // procfs answers mkdir with ENOENT, which Node's recursive mkdir retried without end; runCli's timeout catches a hang.
    const cases = [
      ["/proc/self/mlxm", ["ls"]],
      ["/proc/self/mlxm", ["serve"]],
      ["/proc/self/mlxm", ["daemon", "start"]],
      ["/proc", ["serve"]],
    ] as const;
    const [json, ...results] = await Promise.all([runCli(["ls", "--json"], { home: "/proc/self/mlxm", port: 1 }), ...cases.map(([home, args]) => runCli([...args], { home, port: 1 }))]);
    cases.forEach(([home, args], i) => {
      const res = results[i]!;
      expect(res.code, `${args.join(" ")} with ${home}: ${res.stderr}`).to.equal(2);
      expect(res.stderr).to.contain(`cannot use MLXM_HOME=${home}`).and.contain("set MLXM_HOME to a directory you can write");
    });
    expect(json.code).to.equal(2);
    expect(parseJson(json).error.code).to.equal("home_unusable");
  });
});
