import { type Contender, packageVersion } from './contender';
import { redlockV5Like, type RedlockV5Constructor } from './redlock-v5-like';

/** `@sesamecare-oss/redlock`, the maintained fork of redlock v5. */
export function sesamecareRedlock(): Contender {
  return redlockV5Like(
    {
      id: 'sesamecare',
      name: '@sesamecare-oss/redlock',
      version: packageVersion('@sesamecare-oss/redlock'),
    },
    async () =>
      (await import('@sesamecare-oss/redlock')).Redlock as unknown as RedlockV5Constructor,
  );
}
