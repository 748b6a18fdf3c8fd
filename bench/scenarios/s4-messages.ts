/** Parent → worker. */
export type ToWorker =
  | {
      type: 'run';
      contenderId: string;
      tag: string;
      durationMs: number;
      /** How long a caller waits for the lock (default `CONTENDED_WAIT_MS`). */
      waitMs?: number;
    }
  | { type: 'exit' };

/** Worker → parent. */
export type FromWorker =
  | { type: 'ready'; setupErrors: Record<string, string> }
  | { type: 'result'; acquisitions: number; failures: number; error?: string };

export const counterKey = (tag: string): string => `s4:${tag}:counter`;
export const lockKey = (tag: string): string => `s4:${tag}:lock`;
