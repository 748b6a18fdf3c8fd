import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createAppModule } from './app.module';
import { appConfigFromEnv } from './config/app.config';
import { intFromEnv } from './config/env';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(createAppModule(appConfigFromEnv()));
  // SIGTERM / SIGINT close the app: Redis connections are closed, held locks stop renewing.
  app.enableShutdownHooks();
  await app.listen(intFromEnv('PORT', 3000));
  new Logger('Bootstrap').log(`Sample app listening on ${await app.getUrl()}`);
}

bootstrap().catch((err: unknown) => {
  new Logger('Bootstrap').error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
