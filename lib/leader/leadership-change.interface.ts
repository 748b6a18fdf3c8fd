/** Why this instance became or stopped being the leader. */
export type LeadershipChangeReason = 'elected' | 'lost' | 'resigned';

/** One change of this instance's leadership of `name`, as `LeaderElection.changes` emits it. */
export interface LeadershipChange {
  /** The leadership's name. */
  readonly name: string;
  /** Whether this instance is the leader from now on. */
  readonly leader: boolean;
  /** `elected`; `lost`: the lease could not be renewed or proven; `resigned`: `stop()` or shutdown. */
  readonly reason: LeadershipChangeReason;
  /** The term's fencing token (strictly increasing per name across the fleet). */
  readonly fencingToken: number;
}

/** The current term of a leader: what leader-only work needs to fence its writes and stop in time. */
export interface LeaderTerm {
  /** Strictly increasing per name across the fleet: a later leader always has a larger one. */
  readonly fencingToken: number;
  /** Aborted when the term ends: the leadership was lost (a `LockLostError`) or resigned. */
  readonly signal: AbortSignal;
  /** Epoch ms until which this instance can prove its lease (moved on by each renewal). */
  readonly validUntil: number;
}
