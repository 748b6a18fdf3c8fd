import {
  CanActivate,
  Controller,
  ExecutionContext,
  HttpCode,
  Injectable,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import request from 'supertest';
import { LockService, WithLock } from '../../lib';
import { SampleApp, startSampleApp } from './support/sample-app';

let guardCalls = 0;
const handlerRuns = { above: 0, below: 0 };

/** Lets a request through only with `x-allow: yes`. */
@Injectable()
class AllowHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    guardCalls++;
    const req = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>();
    return req.headers['x-allow'] === 'yes';
  }
}

@Controller('meta')
class MetaController {
  constructor(private readonly locks: LockService) {}

  // @WithLock applied last: it must copy the route, guard and status metadata to its wrapper.
  @WithLock('meta-above:<id>')
  @Post('above/:id')
  @UseGuards(AllowHeaderGuard)
  @HttpCode(202)
  async above(@Param('id') id: string): Promise<{ id: string; locked: boolean }> {
    handlerRuns.above++;
    return { id, locked: await this.locks.isLocked(`meta-above:${id}`) };
  }

  // @WithLock applied first: the other decorators then annotate its wrapper.
  @Post('below/:id')
  @UseGuards(AllowHeaderGuard)
  @HttpCode(202)
  @WithLock('meta-below:<id>')
  async below(@Param('id') id: string): Promise<{ id: string; locked: boolean }> {
    handlerRuns.below++;
    return { id, locked: await this.locks.isLocked(`meta-below:${id}`) };
  }
}

describe('@WithLock next to route decorators', () => {
  let sample: SampleApp;

  beforeAll(async () => {
    sample = await startSampleApp({}, { controllers: [MetaController] });
  });

  afterAll(async () => {
    await sample?.close();
  });

  it.each(['above', 'below'] as const)(
    'with @WithLock %s @Post: routes, runs the guard, answers the @HttpCode status, holds the lock',
    async (where) => {
      const calls = guardCalls;
      const runs = handlerRuns[where];

      const ok = await request(sample.url).post(`/meta/${where}/7`).set('x-allow', 'yes');
      expect(ok.status).toBe(202);
      expect(ok.body).toEqual({ id: '7', locked: true });
      expect(guardCalls).toBe(calls + 1);
      expect(handlerRuns[where]).toBe(runs + 1);

      const denied = await request(sample.url).post(`/meta/${where}/7`);
      expect(denied.status).toBe(403);
      expect(guardCalls).toBe(calls + 2);
      expect(handlerRuns[where]).toBe(runs + 1);

      const lockService = sample.app.get(LockService);
      expect(await lockService.isLocked(`meta-${where}:7`)).toBe(false);
    },
  );
});
