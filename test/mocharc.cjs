// One mocha run over every package's compiled tests: one summary, one exit code for CI.
module.exports = {
  spec: [
    'packages/*/dist/test/**/*.test.js',
    'apps/*/dist/test/**/*.test.js',
    'test/dist/**/*.test.js',
  ],
  timeout: 120000,
  reporter: require('node:path').join(__dirname, 'summary-reporter.cjs'),
};
