import { Body, Controller, INestApplication, Post } from '@nestjs/common';
import { ClientProxy, ClientProxyFactory, MessagePattern, Transport } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { io } from 'socket.io-client';
import request from 'supertest';
import WebSocket from 'ws';
import { DistributedLockModule, LockService, WithLock } from '../../lib';
import { freePort } from '../support/redis-server';
import { useRedisServer } from '../support/use-redis-server';

/** The same three outcomes in every context: a busy lock, a key that cannot be built, no store. */
@Controller('things')
class ThingsController {
  @Post()
  @WithLock('thing:<dto.id>', { waitTimeout: 0 })
  create(@Body() dto: { id?: string }) {
    return { id: dto.id };
  }

  @MessagePattern('thing.create')
  @WithLock('thing:<dto.id>', { waitTimeout: 0 })
  message(dto: { id?: string }) {
    return { id: dto.id };
  }
}

@WebSocketGateway()
class ThingsGateway {
  @SubscribeMessage('thing.create')
  @WithLock('thing:<dto.id>', { waitTimeout: 0 })
  handle(_client: unknown, dto: { id?: string }) {
    return { event: 'thing.created', data: { id: dto.id } };
  }
}

const DEAD_REDIS = { redis: 'redis://127.0.0.1:1', commandTimeout: 200 };

type Context = 'http-express' | 'http-fastify' | 'rpc' | 'socket.io' | 'ws';

interface Client {
  /** What the client gets back: the response body, or the error payload. */
  send(
    id: string | undefined,
  ): Promise<{ status?: number; headers?: Record<string, string>; body: unknown }>;
  close(): Promise<void>;
}

async function start(
  context: Context,
  options: object,
): Promise<{ app: INestApplication; client: Client }> {
  const moduleRef = await Test.createTestingModule({
    imports: [DistributedLockModule.forRoot(options)],
    controllers: [ThingsController],
    providers: context === 'socket.io' || context === 'ws' ? [ThingsGateway] : [],
  }).compile();
  const app =
    context === 'http-fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  if (context === 'socket.io') app.useWebSocketAdapter(new IoAdapter(app));
  if (context === 'ws') app.useWebSocketAdapter(new WsAdapter(app));
  if (context === 'rpc') {
    const port = await freePort();
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await app.startAllMicroservices();
    await app.init();
    const proxy: ClientProxy = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    return {
      app,
      client: {
        send: (id) =>
          lastValueFrom(proxy.send('thing.create', { id })).then(
            (body: unknown) => ({ body }),
            (err: unknown) => ({ body: err }),
          ),
        close: async () => proxy.close(),
      },
    };
  }
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  if (context === 'socket.io') {
    const socket = io(url, { transports: ['websocket'], forceNew: true });
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    return {
      app,
      client: {
        send: (id) =>
          new Promise((resolve) => {
            socket.once('exception', (body: unknown) => resolve({ body }));
            socket.once('thing.created', (body: unknown) => resolve({ body }));
            socket.emit('thing.create', { id });
          }),
        close: async () => void socket.close(),
      },
    };
  }
  if (context === 'ws') {
    const socket = new WebSocket(url.replace('http', 'ws'));
    await new Promise((resolve) => socket.once('open', resolve));
    return {
      app,
      client: {
        send: (id) =>
          new Promise((resolve) => {
            socket.once('message', (raw) => resolve({ body: JSON.parse(String(raw)) }));
            socket.send(JSON.stringify({ event: 'thing.create', data: { id } }));
          }),
        close: async () => {
          socket.close();
          await new Promise((resolve) => socket.once('close', resolve));
        },
      },
    };
  }
  return {
    app,
    client: {
      send: async (id) => {
        const res = await request(url)
          .post('/things')
          .send(id === undefined ? {} : { id });
        return {
          status: res.status,
          headers: res.headers as Record<string, string>,
          body: res.body,
        };
      },
      close: async () => undefined,
    },
  };
}

/** The error as the context delivers it: HTTP body, RPC error, or the ws/socket.io exception data. */
function errorOf(context: Context, reply: { body: unknown }): Record<string, unknown> {
  const body = reply.body as Record<string, unknown>;
  return context === 'ws' ? (body.data as Record<string, unknown>) : body;
}

describe.each<Context>(['http-express', 'http-fastify', 'rpc', 'socket.io', 'ws'])(
  'lock errors over %s',
  (context) => {
    const fixture = useRedisServer({ flush: true });

    describe('on Redis', () => {
      let app: INestApplication;
      let client: Client;
      beforeAll(async () => {
        ({ app, client } = await start(context, { redis: fixture.server.url }));
      });
      afterAll(async () => {
        await client?.close();
        await app?.close();
      });

      it('a busy lock: LOCK_NOT_ACQUIRED, 409', async () => {
        const held = await app.get(LockService).acquire('thing:7');
        try {
          const reply = await client.send('7');
          const error = errorOf(context, reply);
          expect(error).toMatchObject({ code: 'LOCK_NOT_ACQUIRED', statusCode: 409 });
          if (context.startsWith('http')) {
            expect(reply.status).toBe(409);
            expect(reply.headers?.['retry-after']).toBe('1');
          } else {
            expect(error.status).toBe('error');
          }
        } finally {
          await held.release();
        }
      });

      it('a key that cannot be built: LOCK_KEY_INVALID, 400, no class, method or parameter names', async () => {
        const reply = await client.send(undefined);
        const error = errorOf(context, reply);
        expect(error).toMatchObject({ code: 'LOCK_KEY_INVALID', statusCode: 400 });
        if (context.startsWith('http')) expect(reply.status).toBe(400);
        const text = JSON.stringify(error);
        for (const internal of [
          'ThingsController',
          'ThingsGateway',
          'create',
          'dto',
          '@WithLock',
        ]) {
          expect(text).not.toContain(internal);
        }
      });

      it('a free lock: the handler answers', async () => {
        const reply = await client.send('8');
        const body = reply.body as Record<string, unknown>;
        if (context === 'ws') expect(body).toEqual({ event: 'thing.created', data: { id: '8' } });
        else if (context === 'socket.io') expect(body).toEqual({ id: '8' });
        else expect(body).toEqual({ id: '8' });
      });
    });

    describe('with the store down', () => {
      let app: INestApplication;
      let client: Client;
      beforeAll(async () => {
        ({ app, client } = await start(context, DEAD_REDIS));
      });
      afterAll(async () => {
        await client?.close();
        await app?.close();
      });

      it('LOCK_STORE_UNAVAILABLE, 503, and the handler does not run', async () => {
        const reply = await client.send('9');
        expect(errorOf(context, reply)).toMatchObject({
          code: 'LOCK_STORE_UNAVAILABLE',
          statusCode: 503,
        });
        if (context.startsWith('http')) expect(reply.status).toBe(503);
      });
    });
  },
);
