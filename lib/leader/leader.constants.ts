/** Leaderships are locks in a namespace of their own: `lock:{leader:<name>}`. */
export const LEADER_KEY_PREFIX = 'leader:';
/** Pause before campaigning again after a term ended or an attempt failed. */
export const DEFAULT_RETRY_DELAY_MS = 500;
/** The longest pause between failed attempts while the store is unreachable. */
export const DEFAULT_MAX_RETRY_DELAY_MS = 10_000;

/** On a class with `@LeaderOnly` methods: the leadership names they need. */
export const LEADER_ONLY_NAMES = Symbol.for('nestjs-distributed-lock:leader-only');
/** On an instance bound by the explorer: its application's `LeaderElectionService`. */
export const LEADER_ELECTIONS_REF = Symbol.for('nestjs-distributed-lock:leader-elections');
