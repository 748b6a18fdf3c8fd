import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Releases a held lock. */
export type Release = () => Promise<unknown>;

/** One lock implementation under test, behind the same small interface. */
export interface Contender {
  /** Short id, also used to recreate it in a child process (see `createContender`). */
  readonly id: string;
  /** Name shown in the tables. */
  readonly name: string;
  /** Package and version, or 'this repo'. */
  readonly version: string;
  /** How it is configured (retries, lease, renewal), printed under the tables. */
  readonly settings: string;
  setup(url: string): Promise<void>;
  /**
   * Takes the lock on `key`. `waitMs` 0 tries once without waiting. Resolves a function that
   * releases it, or `null` when the lock was not taken within `waitMs`.
   */
  acquire(key: string, waitMs: number): Promise<Release | null>;
  close(): Promise<void>;
}

/** Lease given to every lock in every scenario: the library's default (30 s). */
export const LEASE_MS = 30_000;

/** Polling interval chosen for the peers that poll at a fixed pace (redlock family). */
export const PEER_RETRY_DELAY_MS = 10;
export const PEER_RETRY_JITTER_MS = 5;

/** `name@version` of an installed package (found from its entry point, exports maps allowing). */
export function packageVersion(name: string): string {
  try {
    let dir = dirname(require.resolve(name));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name && pkg.version) return `${pkg.name}@${pkg.version.replace(/^v/, '')}`;
      }
      const parent = dirname(dir);
      if (parent === dir) return `${name}@?`;
      dir = parent;
    }
  } catch {
    return `${name} (not installed)`;
  }
}
