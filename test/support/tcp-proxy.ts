import { once } from 'node:events';
import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A loopback TCP proxy that can fail the way a network does: `cut()` stops delivering bytes in
 * both directions while every socket stays open (a partition, not a reset), `heal()` delivers
 * what was held back, `delay(ms)` slows every chunk down, `dropConnections()` resets them all.
 */
export interface TcpProxy {
  /** The proxy's own port on 127.0.0.1: connect here instead of `target`. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops delivering bytes both ways; sockets stay open and new ones are accepted, then held. */
  cut(): void;
  /** Delivers what was held back and forwards again. */
  heal(): void;
  /** Adds `ms` of latency to every chunk from now on (0: none). */
  delay(ms: number): void;
  /** Destroys every open connection (both sides); new connections are still accepted. */
  dropConnections(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Chunks waiting to be written while cut or delayed, per direction. */
  queues: { toUpstream: Buffer[]; toClient: Buffer[] };
}

export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let isCut = false;
  let latency = 0;
  let accepted = 0;
  const timers = new Set<NodeJS.Timeout>();

  // Bytes are read as they come (so the peer's writes succeed, as on a real network) and only
  // handed on while the link is up.
  const flush = (pair: Pair): void => {
    if (isCut) return;
    for (const [queue, to] of [
      [pair.queues.toUpstream, pair.upstream],
      [pair.queues.toClient, pair.client],
    ] as const) {
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
    }
  };
  const forward = (pair: Pair, queue: Buffer[], chunk: Buffer): void => {
    if (latency > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        queue.push(chunk);
        flush(pair);
      }, latency);
      timers.add(timer);
      return;
    }
    queue.push(chunk);
    flush(pair);
  };

  const server: Server = createServer((client) => {
    accepted++;
    const upstream = createConnection({ port: targetPort, host: targetHost });
    const pair: Pair = { client, upstream, queues: { toUpstream: [], toClient: [] } };
    pairs.add(pair);
    // Ends both sides once what was received has been handed on.
    const end = (): void => {
      pairs.delete(pair);
      if (!client.destroyed) client.end();
      if (!upstream.destroyed) upstream.end();
    };
    client.on('data', (chunk: Buffer) => forward(pair, pair.queues.toUpstream, chunk));
    upstream.on('data', (chunk: Buffer) => forward(pair, pair.queues.toClient, chunk));
    // A close on one side while cut is held back too: the other side must not learn of it.
    const closeSide = (): void => {
      if (!isCut) return end();
      const heldClose = (): void => {
        if (isCut) return void setTimeout(heldClose, 20).unref();
        flush(pair);
        end();
      };
      heldClose();
    };
    client.on('close', closeSide);
    upstream.on('close', closeSide);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    port,
    get accepted() {
      return accepted;
    },
    cut() {
      isCut = true;
    },
    heal() {
      isCut = false;
      for (const pair of pairs) flush(pair);
    },
    delay(ms: number) {
      latency = Math.max(0, ms);
    },
    dropConnections() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.upstream.resetAndDestroy();
      }
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.destroy();
        pair.upstream.destroy();
      }
      if (server.listening) {
        server.close();
        await once(server, 'close');
      }
    },
  };
}
