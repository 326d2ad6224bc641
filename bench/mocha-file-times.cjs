// A mocha reporter that prints the usual spec output and, at the end, the wall time of each test file, hooks
// included (a before() that starts a daemon is often most of an e2e file's time; test durations leave it out).
//
//   npx mocha --reporter ./bench/mocha-file-times.cjs [--reporter-option out=times.json] ...
const Mocha = require("mocha");
const fs = require("node:fs");
const path = require("node:path");

class FileTimes extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const out = options.reporterOption?.out;
    const files = new Map();
    runner.on("suite", (suite) => {
      if (!suite.file) return;
      const f = files.get(suite.file) ?? { start: Date.now(), end: 0, tests: 0, failures: 0 };
      files.set(suite.file, f);
    });
    runner.on("suite end", (suite) => {
      if (suite.file && files.has(suite.file)) files.get(suite.file).end = Date.now();
    });
    runner.on("test end", (test) => {
      const f = test.file && files.get(test.file);
      if (f) f.tests++;
    });
    runner.on("fail", (test) => {
      const f = test.file && files.get(test.file);
      if (f) f.failures++;
    });
    runner.once("end", () => {
      const rows = [...files].map(([file, f]) => ({ file: path.relative(process.cwd(), file), seconds: (f.end - f.start) / 1000, tests: f.tests, failures: f.failures }));
      rows.sort((a, b) => b.seconds - a.seconds);
      if (out) fs.writeFileSync(out, JSON.stringify(rows, null, 2));
      console.log("\n| file | seconds | tests |\n|---|---|---|");
      for (const r of rows.slice(0, 15)) console.log(`| ${r.file} | ${r.seconds.toFixed(1)} | ${r.tests} |`);
    });
  }
}

module.exports = FileTimes;
