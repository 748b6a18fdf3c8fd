import { boolFromEnv, intFromEnv } from './env';

/** Injection token of the resolved `AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/** Everything the sample application can be configured with. */
export interface AppConfig {
  /**
   * `redis://` URL of the lock store and of the inventory. Absent: both live in this process's
   * memory (the lock library then warns that locks are not shared between processes).
   */
  readonly redisUrl?: string;
  /** How long placing an order takes (simulated slow work), in ms. */
  readonly orderWorkMs: number;
  /** Pause between reading and writing a stock count, in ms: the race window the lock closes. */
  readonly inventoryPauseMs: number;
  /** Stock created at startup; a count that already exists (in Redis) is kept. */
  readonly inventorySeed: Readonly<Record<string, number>>;
  /** Register the scheduled jobs (`ScheduleModule`). Tests that do not need them switch it off. */
  readonly scheduleEnabled: boolean;
  /** How long generating a report takes, in ms. */
  readonly reportWorkMs: number;
}

export const DEFAULT_APP_CONFIG: AppConfig = {
  redisUrl: undefined,
  orderWorkMs: 300,
  inventoryPauseMs: 20,
  inventorySeed: { 'sku-1': 100, 'sku-2': 25 },
  scheduleEnabled: true,
  reportWorkMs: 200,
};

/** Fills what `options` leaves out with the defaults. */
export function resolveAppConfig(options: Partial<AppConfig> = {}): AppConfig {
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<AppConfig>;
  return { ...DEFAULT_APP_CONFIG, ...defined };
}

/**
 * The configuration `main.ts` runs with: REDIS_URL, ORDER_WORK_MS, INVENTORY_PAUSE_MS,
 * SCHEDULE_ENABLED and REPORT_WORK_MS. (The report interval, REPORT_INTERVAL_MS, is read where
 * the job is declared: see `reports/report-interval.ts`.)
 */
export function appConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<AppConfig> {
  const d = DEFAULT_APP_CONFIG;
  return {
    redisUrl: env.REDIS_URL?.trim() || undefined,
    orderWorkMs: intFromEnv('ORDER_WORK_MS', d.orderWorkMs, env),
    inventoryPauseMs: intFromEnv('INVENTORY_PAUSE_MS', d.inventoryPauseMs, env),
    scheduleEnabled: boolFromEnv('SCHEDULE_ENABLED', d.scheduleEnabled, env),
    reportWorkMs: intFromEnv('REPORT_WORK_MS', d.reportWorkMs, env),
  };
}
