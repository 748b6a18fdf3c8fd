import { describeValue } from '../../validation/describe-value';
import { assertKnownOptions } from '../../validation/known-options';
import { ETCD_OPTION_NAMES } from '../../validation/option-names';
import { isEtcdClient } from './create-etcd-store';

const LABEL = 'DistributedLockModule option `etcd`';

/**
 * Checks the `etcd` module option without connecting, and that it comes alone: one store at a
 * time (`redis`, `redlock`, `postgres` are other stores), and no `syncReplicas` (etcd's Raft
 * majority already keeps every write through a member's failure).
 */
export function assertEtcdOption(etcd: unknown, others: Record<string, unknown>): void {
  if (etcd === undefined) return;
  for (const other of ['redis', 'redlock', 'postgres', 'store']) {
    if (others[other] !== undefined) {
      throw new TypeError(
        `DistributedLockModule options \`etcd\` and \`${other}\` are mutually exclusive: the ` +
          'module uses one store. Give one of them.',
      );
    }
  }
  if (others.syncReplicas !== undefined && others.syncReplicas !== 0) {
    throw new TypeError(
      'DistributedLockModule option `syncReplicas` applies to Redis with replicas; etcd commits ' +
        'every write on a majority of its members already. Remove it.',
    );
  }
  if (isEtcdClient(etcd)) return;
  assertKnownOptions(etcd, ETCD_OPTION_NAMES, LABEL);
  const { hosts } = etcd as { hosts: unknown };
  const list = typeof hosts === 'string' ? [hosts] : hosts;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((h) => typeof h === 'string' && h.length > 0)
  ) {
    throw new TypeError(
      `${LABEL} \`hosts\` must be a non-empty array of endpoints such as ` +
        `'http://127.0.0.1:2379' (or an etcd3 client in place of the options), got ` +
        `${describeValue(hosts)}.`,
    );
  }
}
