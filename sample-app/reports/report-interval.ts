import { intFromEnv } from '../config/env';

/**
 * How often the report job fires, in ms (REPORT_INTERVAL_MS, default 10 s). `@Interval` takes a
 * constant when the class is defined, so this is read from the environment when the module is
 * first loaded: set REPORT_INTERVAL_MS before importing the app.
 */
export const REPORT_INTERVAL_MS = Math.max(1, intFromEnv('REPORT_INTERVAL_MS', 10_000));
