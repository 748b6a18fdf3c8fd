// A child process of the idempotency crash test: one instance of an Express app with the built
// package, whose POST /crash/orders is @Idempotent({ lease: 2000 }). The handler counts its run
// in Redis (`runs:crash`); with `hang` it then writes its fencing token to `fence:crashed` and
// hangs until the process is killed, otherwise it answers { run, fence, instance }.
// One JSON argument: { url, name, hang }. Prints {"event":"listening","url"} on stdout.
// Plain JavaScript (no build step): the decorators are applied by hand, as tsc would.
require('reflect-metadata');
const { Body, Controller, Inject, Module, Post, Logger } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { Redis } = require('ioredis');
const { DistributedLockModule, Idempotent, IdempotencyService } = require('../../../dist');

// A passing run prints nothing; the killed sibling's connection errors are expected.
Logger.overrideLogger(false);

const send = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const config = JSON.parse(process.argv[2]);
  const redis = new Redis(config.url);

  class CrashController {
    constructor(idempotency) {
      this.idempotency = idempotency;
    }

    async create(body) {
      const run = await redis.incr('runs:crash');
      const fence = this.idempotency.current()?.fencingToken;
      if (config.hang) {
        await redis.set('fence:crashed', String(fence));
        // Mid-handler until SIGKILL: the claim stays renewed by this process's watchdog.
        await sleep(10 * 60_000);
      }
      return { run, fence, instance: config.name, sku: body.sku };
    }
  }
  Inject(IdempotencyService)(CrashController, undefined, 0);
  Body()(CrashController.prototype, 'create', 0);
  const descriptor = Reflect.decorate(
    [Post('orders'), Idempotent({ lease: 2000 })],
    CrashController.prototype,
    'create',
    Object.getOwnPropertyDescriptor(CrashController.prototype, 'create'),
  );
  Object.defineProperty(CrashController.prototype, 'create', descriptor);
  Controller('crash')(CrashController);

  class AppModule {}
  Module({
    imports: [DistributedLockModule.forRoot({ redis: config.url })],
    controllers: [CrashController],
  })(AppModule);

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  send('listening', { url: (await app.getUrl()).replace('[::1]', '127.0.0.1') });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
