// A passing run prints no log lines: the library logs through Nest's Logger, silenced here for
// every test file. Tests that check what is logged spy on Logger.prototype, which still sees it.
const { Logger } = require('@nestjs/common');

Logger.overrideLogger(false);
