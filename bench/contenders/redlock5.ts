import { type Contender, packageVersion } from './contender';
import { redlockV5Like, type RedlockV5Constructor } from './redlock-v5-like';

/** `redlock` 5 beta, installed as the alias `redlock5`. */
export function redlock5(): Contender {
  return redlockV5Like(
    { id: 'redlock5', name: 'redlock v5', version: packageVersion('redlock5') },
    async () => (await import('redlock5')).default as RedlockV5Constructor,
  );
}
