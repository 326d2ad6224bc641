// Mocha's settings. With test files named on the command line (`npx mocha test/unit/foo.test.ts`), only those run;
// with none, unit then integration run here in one process, in order. `npm test` then runs the e2e files with
// `npm run test:e2e`, one file at a time: on the 2-core CI machine two at a time (`--parallel --jobs 2`) took 10
// minutes where one at a time took 7, because each e2e test's daemons and CLI processes need the CPU they wait on.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));

module.exports = {
  "node-option": ["import=tsx"],
  timeout: 60000,
  exit: true,
  ...(named ? {} : { spec: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"] }),
};
