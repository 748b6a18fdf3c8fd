// A passing run prints no log lines: the library logs through Nest's Logger, silenced here for
// every test file. Tests that check what is logged spy on Logger.prototype, which still sees it.
const { Logger } = require('@nestjs/common');
const { TestingModuleBuilder } = require('@nestjs/testing');

Logger.overrideLogger(false);

// Test.createTestingModule().compile() installs Nest's TestingLogger, which prints errors: the
// connection errors that outage tests cause on purpose. Testing modules get a silent one instead,
// unless the test chose its own with setLogger().
const silent = { log() {}, error() {}, warn() {}, debug() {}, verbose() {}, fatal() {} };
const compile = TestingModuleBuilder.prototype.compile;
TestingModuleBuilder.prototype.compile = function (...args) {
  if (!this.testingLogger) this.setLogger(silent);
  return compile.apply(this, args);
};
