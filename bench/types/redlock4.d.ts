// redlock 4 ships no type declarations: the part the bench uses.
declare module 'redlock4' {
  import { EventEmitter } from 'node:events';

  interface RedlockOptions {
    driftFactor?: number;
    retryCount?: number;
    retryDelay?: number;
    retryJitter?: number;
  }

  namespace Redlock {
    interface Lock {
      readonly resource: string | string[];
      readonly value: string;
      unlock(): Promise<void>;
    }
  }

  class Redlock extends EventEmitter {
    constructor(clients: unknown[], options?: RedlockOptions);
    lock(resource: string | string[], ttl: number): Promise<Redlock.Lock>;
    lockWithOptions(
      resource: string | string[],
      ttl: number,
      options: RedlockOptions,
    ): Promise<Redlock.Lock>;
    quit(): Promise<void>;
  }

  export = Redlock;
}
