import type { Contender } from './contender';
import { floor } from './floor';
import { redisSemaphore } from './redis-semaphore';
import { redlock4 } from './redlock4';
import { redlock5 } from './redlock5';
import { sesamecareRedlock } from './sesamecare-redlock';
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

/** Every contender id, in table order. */
export const CONTENDER_IDS = Object.keys(FACTORIES);

export function createContender(id: string): Contender {
  const factory = FACTORIES[id];
  if (!factory) throw new Error(`unknown contender ${id}`);
  return factory();
}
