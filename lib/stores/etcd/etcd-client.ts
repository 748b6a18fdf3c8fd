/**
 * The part of an `etcd3` client (microsoft/etcd3) that the etcd store uses, written out here
 * so that the package's typings never name `etcd3`: it is an optional peer dependency.
 */

/** A key and its revisions, as etcd's gRPC API returns them (64-bit numbers as strings). */
export interface EtcdKeyValue {
  readonly key: Buffer;
  readonly create_revision: string;
  readonly lease: string;
}

export interface EtcdHeader {
  readonly revision: string;
}

export interface EtcdRangeRequest {
  key: Buffer;
  range_end?: Buffer;
  limit?: number;
  sort_order?: 'None' | 'Ascend' | 'Descend';
  sort_target?: 'Key' | 'Create';
  keys_only?: boolean;
  count_only?: boolean;
  max_create_revision?: string;
  revision?: string;
}

export interface EtcdRangeResponse {
  readonly header: EtcdHeader;
  readonly kvs: readonly EtcdKeyValue[];
  readonly count: string;
}

export interface EtcdCompare {
  key: Buffer;
  range_end?: Buffer;
  target: 'Create' | 'Lease';
  result: 'Equal' | 'NotEqual' | 'Greater';
  create_revision?: string;
  lease?: string;
}

export interface EtcdRequestOp {
  request_range?: EtcdRangeRequest;
  request_put?: { key: Buffer; value?: Buffer; lease?: string; ignore_value?: boolean };
}

export interface EtcdTxnResponse {
  readonly header: EtcdHeader;
  readonly succeeded: boolean;
  readonly responses: readonly { readonly response_range?: EtcdRangeResponse }[];
}

/** gRPC call options: the deadline is wall-clock. */
export interface EtcdCallOptions {
  deadline?: Date;
}

/** A bidirectional gRPC stream (the lease keep-alive). */
export interface EtcdDuplex<Req, Res> {
  write(req: Req): unknown;
  end(): unknown;
  cancel?(): void;
  on(event: 'data', handler: (res: Res) => void): unknown;
  on(event: 'error', handler: (err: Error) => void): unknown;
  on(event: 'end', handler: () => void): unknown;
}

export interface EtcdKVClient {
  range(req: EtcdRangeRequest, options?: EtcdCallOptions): Promise<EtcdRangeResponse>;
  txn(
    req: { compare: EtcdCompare[]; success: EtcdRequestOp[]; failure: EtcdRequestOp[] },
    options?: EtcdCallOptions,
  ): Promise<EtcdTxnResponse>;
}

export interface EtcdLeaseClient {
  leaseGrant(
    req: { TTL: number; ID: string },
    options?: EtcdCallOptions,
  ): Promise<{ readonly ID: string; readonly TTL: string; readonly error?: string }>;
  leaseRevoke(req: { ID: string }, options?: EtcdCallOptions): Promise<unknown>;
  leaseTimeToLive(
    req: { ID: string },
    options?: EtcdCallOptions,
  ): Promise<{ readonly TTL: string }>;
  leaseKeepAlive(
    options?: EtcdCallOptions,
  ): Promise<EtcdDuplex<{ ID: string }, { readonly ID: string; readonly TTL: string }>>;
}

/** A watch on one key, from a revision on. */
export interface EtcdWatcher {
  on(event: 'delete', handler: () => void): unknown;
  on(event: 'error', handler: (err: Error) => void): unknown;
  cancel(): Promise<void>;
}

export interface EtcdWatchBuilder {
  key(key: Buffer): EtcdWatchBuilder;
  startRevision(revision: string): EtcdWatchBuilder;
  only(...operations: 'delete'[]): EtcdWatchBuilder;
  create(): Promise<EtcdWatcher>;
}

export interface EtcdMaintenanceClient {
  status(options?: EtcdCallOptions): Promise<{ readonly version: string; readonly leader: string }>;
}

/** An `Etcd3` instance as the store drives it. */
export interface EtcdClient {
  readonly kv: EtcdKVClient;
  readonly leaseClient: EtcdLeaseClient;
  readonly maintenance: EtcdMaintenanceClient;
  watch(): EtcdWatchBuilder;
  close(): void;
}
