// A child process of S5: a small Nest (Express) app with a plain route and a @WithLock route.
import 'reflect-metadata';
import { Controller, Get, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DistributedLockModule, WithLock } from '../../lib';

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
}

async function main(): Promise<void> {
  const url = process.argv[2];
  @Module({
    imports: [DistributedLockModule.forRoot({ redis: url })],
    controllers: [BenchController],
  })
  class BenchAppModule {}

  const app = await NestFactory.create(BenchAppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.on('message', (message: { type: string }) => {
    if (message.type === 'exit') void app.close().finally(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'listening', port: address.port });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
