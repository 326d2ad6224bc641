// Mocha's settings. With test files named on the command line (`npx mocha test/unit/foo.test.ts`), only those run;
// with none, unit then integration run here in one process, in order. `npm test` then runs the e2e files with
// `npm run test:e2e`: two files at a time (`--parallel --jobs 2`), because an e2e test spends most of its time
// waiting on the CLI and daemon processes it spawns, and one file at a time leaves a core idle. Each e2e file has
// its own temporary homes, ports and fake servers, so two can run side by side.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));

module.exports = {
  "node-option": ["import=tsx"],
  timeout: 60000,
  exit: true,
  ...(named ? {} : { spec: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"] }),
};
