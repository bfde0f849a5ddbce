// The unit suite's mocha options. With no test file named, the whole suite runs (npm run test:unit); naming
// files (`npx mocha out/test/unit/x.test.js`) runs just those, instead of adding them to the whole suite.
'use strict';
const named = process.argv.slice(2).some((arg) => /\.test\.js$/.test(arg));
module.exports = {
  ...(named ? {} : { spec: ['out/test/unit/**/*.test.js'] }),
  timeout: 60000,
  'enable-source-maps': true,
};
