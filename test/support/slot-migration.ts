import { Redis } from 'ioredis';

/**
 * A Redis Cluster slot being moved from one master to another, key by key, the way
 * `redis-cli --cluster reshard` does it: while it lasts, a command that names several keys of
 * the slot gets TRYAGAIN unless all of them exist on one side.
 */
export interface SlotMigration {
  readonly slot: number;
  /** Moves one key of the slot to the target node now (nothing if it does not exist). */
  move(key: string): Promise<void>;
  /** Moves the keys left and gives the slot to the target on every node. */
  finish(): Promise<void>;
}

type SlotRange = [
  start: number,
  end: number,
  owner: [host: string, port: number, ...rest: unknown[]],
];

/** Starts moving the slot of `key` away from its master, to the next master in `ports`. */
export async function startSlotMigration(
  ports: readonly number[],
  key: string,
): Promise<SlotMigration> {
  const nodes = ports.map((port) => new Redis({ port, host: '127.0.0.1', lazyConnect: true }));
  await Promise.all(nodes.map((node) => node.connect()));
  const ids = await Promise.all(
    nodes.map((node) => node.call('CLUSTER', 'MYID') as Promise<string>),
  );
  const slot = (await nodes[0].call('CLUSTER', 'KEYSLOT', key)) as number;
  const ranges = (await nodes[0].call('CLUSTER', 'SLOTS')) as SlotRange[];
  const owner = ranges.find(([start, end]) => slot >= start && slot <= end)?.[2][1];
  const from = ports.indexOf(owner ?? -1);
  if (from < 0) throw new Error(`no master owns slot ${slot}`);
  const to = (from + 1) % ports.length;
  const [source, target] = [nodes[from], nodes[to]];
  // Importing first, as redis-cli does, so that no ASK redirection finds the target unready.
  await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', ids[from]);
  await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', ids[to]);

  const move = async (name: string): Promise<void> => {
    await source.call('MIGRATE', '127.0.0.1', ports[to], name, 0, 5000);
  };
  return {
    slot,
    move,
    async finish() {
      for (;;) {
        const left = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
        if (left.length === 0) break;
        for (const name of left) await move(name);
      }
      for (const node of [target, source, ...nodes.filter((n) => n !== source && n !== target)]) {
        await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', ids[to]);
      }
      nodes.forEach((node) => node.disconnect());
    },
  };
}
