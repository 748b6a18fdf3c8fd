import type {
  EtcdConnectionOptions,
  EtcdOptions,
} from '../../interfaces/distributed-lock-module-options.interface';
import type { EtcdClient } from './etcd-client';
import { ETCD_MESSAGES } from './etcd.messages';
import { EtcdLockStore } from './etcd-lock.store';

/** Whether `value` is an `etcd3` client (an `Etcd3` or a namespace of one). */
export function isEtcdClient(value: unknown): value is EtcdClient {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Partial<EtcdClient>;
  return (
    typeof client.kv === 'object' &&
    typeof client.leaseClient === 'object' &&
    typeof client.watch === 'function'
  );
}

/** The `etcd3` package, loaded on first use: an optional peer dependency. */
function loadEtcd3(): { Etcd3: new (options: object) => EtcdClient } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('etcd3') as { Etcd3: new (options: object) => EtcdClient };
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND') {
      throw new Error(ETCD_MESSAGES.missingPackage, { cause: err });
    }
    throw err;
  }
}

/**
 * The etcd store for the (already checked) `etcd` option: a client of its own for `hosts`
 * (closed with the store), a caller's client as it is.
 */
export function createEtcdStore(etcd: EtcdOptions, commandTimeoutMs: number): EtcdLockStore {
  if (isEtcdClient(etcd)) return new EtcdLockStore(etcd, false, commandTimeoutMs);
  const { Etcd3 } = loadEtcd3();
  const { hosts, ...rest } = etcd as EtcdConnectionOptions;
  const list = typeof hosts === 'string' ? [hosts] : [...hosts];
  const client = new Etcd3({ ...rest, hosts: list, dialTimeout: commandTimeoutMs });
  return new EtcdLockStore(client, true, commandTimeoutMs);
}
