/** Options of one leadership (`LeaderElectionService.election(name, options)`). */
export interface LeaderElectionOptions {
  /** Lease of the leadership in ms, renewed by the watchdog; a dead leader is replaced within about this long. Default: the module's `ttl` (30 000). */
  lease?: number;
  /** Pause in ms before campaigning again after a term ended or an attempt failed (doubles per failure). Default 500. */
  retryDelay?: number;
  /** The longest pause in ms between failed attempts while the store is unreachable. Default 10 000. */
  maxRetryDelay?: number;
}
