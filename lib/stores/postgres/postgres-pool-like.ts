/** The subset of a `pg` query result that the PostgreSQL store reads. */
export interface PostgresQueryResult {
  readonly rows: Record<string, unknown>[];
}

/** The subset of a `pg` client (a pooled connection) that the PostgreSQL store uses. */
export interface PostgresClientLike {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** Gives the connection back to its pool; with an error, the pool closes it. */
  release(err?: Error | boolean): void;
  on(
    event: 'notification',
    listener: (msg: { channel: string; payload?: string }) => void,
  ): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** The subset of a `pg.Pool` that the PostgreSQL store uses. */
export interface PostgresPoolLike {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  connect(): Promise<PostgresClientLike>;
  end(): Promise<void>;
}

/** `pg.Pool` settings (see the `pg` documentation); the ones most often set are listed. */
export interface PostgresPoolOptions {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** Most connections the pool opens. pg's default: 10. */
  max?: number;
  ssl?: boolean | object;
  /** Any other `pg.Pool` setting. */
  [setting: string]: unknown;
}

/** The `postgres` module option: a `postgres://` URL, `pg.Pool` settings, or an existing pool. */
export type PostgresOption = string | PostgresPoolOptions | PostgresPoolLike;

export function isPostgresPool(value: unknown): value is PostgresPoolLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as PostgresPoolLike).query === 'function' &&
    typeof (value as PostgresPoolLike).connect === 'function' &&
    typeof (value as PostgresPoolLike).end === 'function'
  );
}
