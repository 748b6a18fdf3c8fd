import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DistributedLockModule, LockService } from '../../lib';
import { RedisServer, startRedisServer } from '../support/redis-server';

const root = join(__dirname, '..', '..');
const outDir = join(root, 'test', 'readme', 'generated');

/** Every ```ts block of the README, written out as a module that imports the library from lib/. */
function extractReadmeExamples(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const libPath = relative(outDir, join(root, 'lib')).split('\\').join('/');
  return blocks.map((code, i) => {
    const file = join(outDir, `example-${i + 1}.ts`);
    // The package and its subpaths ('nestjs-distributed-lock/testing') point at lib/.
    writeFileSync(
      file,
      code.replace(/'nestjs-distributed-lock(\/[a-z]+)?'/g, (_m, sub = '') => `'${libPath}${sub}'`),
    );
    return file;
  });
}

type Exports = Record<string, unknown>;
type Ctor = new (...args: never[]) => object;

describe('README examples', () => {
  let files: string[];
  let exports: Exports;
  let server: RedisServer;

  beforeAll(async () => {
    files = extractReadmeExamples();
    server = await startRedisServer();
    process.env.REDIS_URL = server.url;
    exports = Object.assign({}, ...files.map((file) => require(file) as Exports));
  });

  afterAll(async () => {
    delete process.env.REDIS_URL;
    await server?.stop();
  });

  it('has examples, and they type-check under the strict settings of this project', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    const tsconfig = join(outDir, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: '../../../tsconfig.json',
        include: ['./*.ts'],
        exclude: [],
        compilerOptions: {
          noEmit: true,
          noUnusedLocals: false,
          // Parameters used only by a key template look unused to the compiler.
          noUnusedParameters: false,
          rootDir: '../../..',
        },
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', tsconfig], { stdio: 'pipe' });
    } catch (err) {
      output = String((err as { stdout?: Buffer }).stdout ?? err);
    }
    expect(output).toBe('');
  });

  it('the 30-second example answers on Redis', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [exports.AppModule as Ctor],
    }).compile();
    const app = moduleRef.createNestApplication();
    await app.init();
    try {
      const res = await request(app.getHttpServer()).post('/users/42/orders');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ userId: '42', status: 'placed' });
      await expect(app.get(LockService).isLocked('order:42')).resolves.toBe(false);
    } finally {
      await app.close();
    }
  });

  describe('the task examples', () => {
    let app: INestApplication;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [DistributedLockModule.forRoot({ redis: server.url, reentrant: true })],
        controllers: [exports.IdempotentOrdersController as Ctor],
        providers: [
          exports.StockService,
          exports.ReportJob,
          exports.TransferService,
          exports.DocumentService,
          exports.ExportService,
          exports.AccountService,
          exports.LedgerService,
          exports.PaymentConsumer,
        ] as Ctor[],
      }).compile();
      app = moduleRef.createNestApplication();
      await app.init();
    });

    afterAll(async () => {
      await app?.close();
    });

    const get = <T>(name: string): T => app.get(exports[name] as Ctor) as T;

    it('StockService reserves and restocks under the lock', async () => {
      const stock = get<{
        reserve(s: string, q: number): Promise<number>;
        restock(s: string, q: number): Promise<number>;
      }>('StockService');
      await expect(stock.reserve('sku-1', 3)).resolves.toBe(7);
      await expect(stock.restock('sku-1', 1)).resolves.toBe(8);
    });

    it('LedgerService reads its fencing token under the lock', async () => {
      const ledger = get<{ post(a: string, n: number): Promise<number | undefined> }>(
        'LedgerService',
      );
      const first = await ledger.post('acc', 1);
      expect(typeof first).toBe('number');
      expect(await ledger.post('acc', 1)).toBeGreaterThan(first as number);
    });

    it('settle acquires and releases', async () => {
      const settle = exports.settle as (locks: LockService, id: string) => Promise<void>;
      await settle(app.get(LockService), 'a1');
      await expect(app.get(LockService).isLocked('account:a1')).resolves.toBe(false);
    });

    it('the idempotent endpoint places one order per key, replays it, 422 on a changed body, 400 without a key', async () => {
      const send = (body: object, key?: string) => {
        const req = request(app.getHttpServer()).post('/orders');
        if (key) req.set('Idempotency-Key', key);
        return req.send(body);
      };
      const first = await send({ sku: 'A' }, 'k1');
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ orderId: 'A-1', fencingToken: expect.any(Number) });
      const again = await send({ sku: 'A' }, 'k1');
      expect(again.status).toBe(201);
      expect(again.body).toEqual(first.body);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect((await send({ sku: 'B' }, 'k1')).status).toBe(422);
      expect((await send({ sku: 'A' })).status).toBe(400);
      expect((await send({ sku: 'A' }, 'k2')).body.orderId).toBe('A-2');
    });

    it('PaymentConsumer charges once per message id', async () => {
      const consumer = get<{
        handle(m: { id: string; amount: number }): Promise<{ charged: number; replayed: boolean }>;
      }>('PaymentConsumer');
      await expect(consumer.handle({ id: 'm1', amount: 5 })).resolves.toEqual({
        charged: 5,
        replayed: false,
      });
      await expect(consumer.handle({ id: 'm1', amount: 5 })).resolves.toEqual({
        charged: 5,
        replayed: true,
      });
    });

    it('the job, transfer, document, export and account examples run', async () => {
      await expect(get<{ run(): Promise<void> }>('ReportJob').run()).resolves.toBeUndefined();
      await get<{ transfer(a: string, b: string, n: number): Promise<void> }>(
        'TransferService',
      ).transfer('1', '2', 5);
      const docs = get<{
        read(id: string): Promise<string>;
        write(id: string, t: string): Promise<void>;
      }>('DocumentService');
      await expect(Promise.all([docs.read('d'), docs.read('d')])).resolves.toEqual([
        'document d',
        'document d',
      ]);
      await docs.write('d', 'text');
      const exporter = get<{ export(t: string): Promise<string>; thumbnails(): Promise<void> }>(
        'ExportService',
      );
      await expect(exporter.export('t1')).resolves.toBe('export for t1');
      await exporter.thumbnails();
      await get<{ close(id: string): Promise<void> }>('AccountService').close('acc-1');
      expect(app.get(LockService).heldCount).toBe(0);
    });
  });

  it('the health example answers 200 with the store up', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [exports.HealthModule as Ctor],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const res = await request(app.getHttpServer()).get('/health');
      expect(res.status).toBe(200);
      expect(res.body.info.lock).toMatchObject({ status: 'up', topology: 'single' });
    } finally {
      await app.close();
    }
  });

  it('the testing example answers a busy lock with LockNotAcquiredError', async () => {
    const checkoutWhileBusy = exports.checkoutWhileBusy as () => Promise<string>;
    await expect(checkoutWhileBusy()).resolves.toBe('LockNotAcquiredError');
  });

  it('the configuration example builds a module from forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [exports.LocksModule as Ctor],
    }).compile();
    const app = await moduleRef.init();
    try {
      const lock = await app.get(LockService).acquire('cfg');
      expect(lock.key).toBe('cfg');
      await lock.release();
    } finally {
      await app.close();
    }
  });
});
