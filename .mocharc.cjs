// Mocha's settings. With test files named on the command line (`npx mocha test/unit/foo.test.ts`), only those run;
// with none, the whole suite does (unit, then integration, then e2e), as `npm test` runs it.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));

module.exports = {
  "node-option": ["import=tsx"],
  timeout: 60000,
  exit: true,
  ...(named ? {} : { spec: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts", "test/e2e/**/*.test.ts"] }),
};
