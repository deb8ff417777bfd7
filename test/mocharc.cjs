// One mocha run over every package's compiled tests: one summary, one exit code for CI.
// The AWS SDK's notice that its releases after January 2027 need Node 22 (ours is pinned): not test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
module.exports = {
  spec: [
    'packages/*/dist/test/**/*.test.js',
    'apps/*/dist/test/**/*.test.js',
    'test/dist/**/*.test.js',
  ],
  timeout: 120000,
  reporter: require('node:path').join(__dirname, 'summary-reporter.cjs'),
};
