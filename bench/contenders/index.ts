import type { Contender } from './contender';
import { floor } from './floor';
import { redisSemaphore } from './redis-semaphore';
import { redlock4 } from './redlock4';
import { redlock5 } from './redlock5';
import { sesamecareRedlock } from './sesamecare-redlock';
import { ETCD_CONTENDERS, POSTGRES_CONTENDERS, REDLOCK_CONTENDERS } from './stores';
import { thisLibrary } from './this-library';

const FACTORIES: Record<string, () => Contender> = {
  lib: () => thisLibrary(true),
  'lib-noext': () => thisLibrary(false),
  floor,
  redlock5,
  redlock4,
  'redis-semaphore': redisSemaphore,
  sesamecare: sesamecareRedlock,
};

/** Every contender id of the single-Redis scenarios (S1 to S8), in table order. */
export const CONTENDER_IDS = Object.keys(FACTORIES);

/** Contenders of the other stores' scenarios (S9 to S11), in table order, baseline first. */
export const STORE_CONTENDERS = {
  redlock: REDLOCK_CONTENDERS,
  postgres: POSTGRES_CONTENDERS,
  etcd: ETCD_CONTENDERS,
};

export function createContender(id: string): Contender {
  const factory =
    FACTORIES[id] ?? REDLOCK_CONTENDERS[id] ?? POSTGRES_CONTENDERS[id] ?? ETCD_CONTENDERS[id];
  if (!factory) throw new Error(`unknown contender ${id}`);
  return factory();
}
