// A child process of S5: a small Nest (Express) app with a plain route, a @WithLock route and
// the same route with the floor's two raw ioredis commands written by hand. S5 starts one
// process of it per kind of traffic, so what one variant turns on for its whole process (the
// library's AsyncLocalStorage context) does not tax another.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { ConflictException, Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DistributedLockModule, WithLock } from '../../lib';
import { installCommandCounter, sentCommands } from '../command-counter';

/** The floor's owner-checked delete (the usual compare-and-delete script). */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;
const LEASE_MS = 30_000;

const url = process.argv[2];
const redis = new Redis(url);
let sha = '';
const tokenPrefix = randomBytes(8).toString('hex');
let tokens = 0;

@Controller()
class BenchController {
  @Get('plain/:id')
  plain(@Param('id') id: string): { id: string } {
    return { id };
  }

  /** Each request brings its own id, so each takes (and releases) a lock of its own. */
  @Get('locked/:id')
  @WithLock('bench:<id>')
  locked(@Param('id') id: string): { id: string } {
    return { id };
  }

  /** The same by hand: SET NX PX, the handler's body, then the owner-checked delete. */
  @Get('hand/:id')
  async hand(@Param('id') id: string): Promise<{ id: string }> {
    const key = `lock:bench:${id}`;
    const token = `${tokenPrefix}:${++tokens}`;
    if ((await redis.set(key, token, 'PX', LEASE_MS, 'NX')) !== 'OK') {
      throw new ConflictException();
    }
    try {
      return { id };
    } finally {
      await redis.evalsha(sha, 1, key, token);
    }
  }
}

async function main(): Promise<void> {
  installCommandCounter();
  sha = String(await redis.script('LOAD', RELEASE_SCRIPT));
  @Module({
    imports: [DistributedLockModule.forRoot({ redis: url })],
    controllers: [BenchController],
  })
  class BenchAppModule {}

  const app = await NestFactory.create(BenchAppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'exit') {
      void app
        .close()
        .then(() => redis.quit())
        .finally(() => process.exit(0));
    }
    if (message.type === 'stats') {
      const { user, system } = process.cpuUsage();
      process.send?.({ type: 'stats', sent: sentCommands(), cpuUs: user + system });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'listening', port: address.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
