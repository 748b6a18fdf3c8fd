import type { INestApplication, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { createAppModule } from '../../../sample-app/app.module';
import type { AppConfig } from '../../../sample-app/config/app.config';

export interface SampleApp {
  readonly app: INestApplication;
  /** Base URL of the listening app, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  close(): Promise<void>;
}

export interface TestExtras {
  /** Test-only controllers and providers, added next to the sample's modules. */
  controllers?: Type[];
  providers?: Provider[];
  /** Runs after the providers exist and before the app initialises (and its jobs start). */
  beforeInit?: (app: INestApplication) => void;
}

/**
 * Builds the sample application for `options` (scheduling off unless asked for), listens on a
 * free loopback port and returns its URL. Nest's logs are silenced.
 */
export async function startSampleApp(
  options: Partial<AppConfig> = {},
  extras: TestExtras = {},
): Promise<SampleApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [createAppModule({ scheduleEnabled: false, ...options })],
    controllers: extras.controllers ?? [],
    providers: extras.providers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  extras.beforeInit?.(app);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return { app, url, close: () => app.close() };
}

/** A plain client for looking at what the app wrote to Redis. */
export function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  return client;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true; fails after `timeoutMs` (a bound, not an assertion on speed). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Counts the HTTP statuses of a batch of responses: `{ 201: 1, 409: 19 }`. */
export function countStatuses(responses: readonly { status: number }[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
