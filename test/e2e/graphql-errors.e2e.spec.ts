import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { INestApplication } from '@nestjs/common';
import { Args, GraphQLModule, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DistributedLockModule, LockService, WithLock } from '../../lib';
import { useRedisServer } from '../support/use-redis-server';

@Resolver()
class ThingsResolver {
  @Query(() => String)
  ping(): string {
    return 'pong';
  }

  @Mutation(() => String)
  @WithLock('thing:<id>', { waitTimeout: 0 })
  createThing(@Args('id', { type: () => String, nullable: true }) id?: string): string {
    return `created ${id}`;
  }
}

async function start(options: object): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      DistributedLockModule.forRoot(options),
      GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
    ],
    providers: [ThingsResolver],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false, abortOnError: false });
  await app.init();
  return app;
}

function mutate(app: INestApplication, id: string | null) {
  return request(app.getHttpServer())
    .post('/graphql')
    .send({ query: 'mutation ($id: String) { createThing(id: $id) }', variables: { id } });
}

describe('lock errors from a GraphQL resolver', () => {
  const fixture = useRedisServer({ flush: true });

  describe('on Redis', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await start({ redis: fixture.server.url });
    });
    afterAll(() => app?.close());

    it('a busy lock carries 409 and LOCK_NOT_ACQUIRED in extensions', async () => {
      const held = await app.get(LockService).acquire('thing:7');
      try {
        const res = await mutate(app, '7');
        const [error] = res.body.errors;
        expect(error.extensions.originalError).toMatchObject({
          statusCode: 409,
          code: 'LOCK_NOT_ACQUIRED',
        });
      } finally {
        await held.release();
      }
      expect((await mutate(app, '7')).body.data).toEqual({ createThing: 'created 7' });
    });

    it('a key that cannot be built carries 400 and LOCK_KEY_INVALID, and no internal names', async () => {
      const res = await mutate(app, null);
      const [error] = res.body.errors;
      expect(error.extensions.originalError).toMatchObject({
        statusCode: 400,
        code: 'LOCK_KEY_INVALID',
      });
      expect(JSON.stringify(error)).not.toContain('ThingsResolver');
    });
  });

  describe('with the store down', () => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await start({ redis: 'redis://127.0.0.1:1', commandTimeout: 200 });
    });
    afterAll(() => app?.close());

    it('carries 503 and LOCK_STORE_UNAVAILABLE', async () => {
      const res = await mutate(app, '9');
      const [error] = res.body.errors;
      expect(error.extensions.originalError).toMatchObject({
        statusCode: 503,
        code: 'LOCK_STORE_UNAVAILABLE',
      });
    });
  });
});
