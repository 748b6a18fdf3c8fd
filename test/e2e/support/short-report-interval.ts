// `@Interval` reads REPORT_INTERVAL_MS when the sample's job class is defined: import this
// module before anything that loads the sample app. (Jest gives each test file its own
// process.env copy, so other files keep the default.)
process.env.REPORT_INTERVAL_MS = '100';
