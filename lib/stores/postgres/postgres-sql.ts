/**
 * The PostgreSQL store's statements. Each is one statement, hence one atomic step and one round
 * trip, judged on the database's clock (`clock_timestamp()`), never the application's.
 *
 * Tables (created on first use, see `schemaSql`):
 * - `<t>`: one row per held lock: owner token, fencing token, lease end.
 * - `<t>_waiter`: the fair queue: one row per waiter, ordered by a sequence, with a lease of its
 *   own (a waiter that died drops out of line when it ends).
 * - `<t>_record`: idempotency records: fingerprint, and the response once completed.
 * A row whose lease ended is overwritten by the next acquire, deleted by the next release or
 * by the periodic sweep, so nothing grows without bound.
 *
 * Parameters are cast where they are first used: PostgreSQL must deduce one type per parameter.
 */

/** Names of the tables, sequences and NOTIFY channel, derived from one base table name. */
export interface PostgresNames {
  readonly locks: string;
  readonly waiters: string;
  readonly records: string;
  readonly fence: string;
  readonly queue: string;
  readonly channel: string;
}

export function postgresNames(table: string): PostgresNames {
  return {
    locks: table,
    waiters: `${table}_waiter`,
    records: `${table}_record`,
    fence: `${table}_fence`,
    queue: `${table}_queue`,
    channel: table,
  };
}

/** `$n` ms as an interval. */
const ms = (n: number): string => `($${n}::double precision * interval '1 millisecond')`;

/** Ms from now until a lease end, rounded up, never negative. */
const msUntil = (column: string): string =>
  `GREATEST(0, ceil(extract(epoch FROM ${column} - clock_timestamp()) * 1000))::bigint`;

/**
 * Creates what the store needs, if missing. Run once per store, in a transaction that a
 * transaction-level advisory lock serialises: concurrent `CREATE TABLE IF NOT EXISTS` can
 * otherwise fail on PostgreSQL's catalog.
 */
export function schemaSql(n: PostgresNames): string[] {
  return [
    `SELECT pg_advisory_xact_lock(hashtext('nestjs-distributed-lock:schema'))`,
    // Sequences are WAL-logged and never go back, even after a crash: fencing tokens only rise.
    `CREATE SEQUENCE IF NOT EXISTS ${n.fence}`,
    `CREATE SEQUENCE IF NOT EXISTS ${n.queue}`,
    `CREATE TABLE IF NOT EXISTS ${n.locks} (
       id text PRIMARY KEY,
       token text NOT NULL,
       fence bigint NOT NULL,
       expires_at timestamptz NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${n.waiters} (
       id text NOT NULL,
       token text NOT NULL,
       seq bigint NOT NULL,
       expires_at timestamptz NOT NULL,
       PRIMARY KEY (id, token))`,
    `CREATE INDEX IF NOT EXISTS ${n.waiters}_line ON ${n.waiters} (id, seq)`,
    `CREATE TABLE IF NOT EXISTS ${n.records} (
       id text PRIMARY KEY,
       fingerprint text NOT NULL,
       response text,
       expires_at timestamptz NOT NULL)`,
  ];
}

/**
 * The live waiter ahead of `$2` in the line of `$1` (any live waiter when `$2` is not in line):
 * while there is one, it is not `$2`'s turn.
 */
const aheadCte = (n: PostgresNames): string => `
  mine AS (
    SELECT seq FROM ${n.waiters}
    WHERE id = $1::text AND token = $2::text AND expires_at > clock_timestamp()),
  ahead AS (
    SELECT token FROM ${n.waiters}
    WHERE id = $1 AND token <> $2 AND expires_at > clock_timestamp()
      AND seq < COALESCE((SELECT seq FROM mine), 9223372036854775807)
    ORDER BY seq LIMIT 1),
  held AS (SELECT token, expires_at FROM ${n.locks} WHERE id = $1)`;

/**
 * Takes the lock when it is `$2`'s turn. The unique key on `id` decides between concurrent
 * callers: an insert that meets a row waits for its writer, then updates it only if its lease
 * ended (judged then, on the row's latest version) or `$2` already owns it (a retry). The
 * sequence gives a new, higher fencing token each time.
 */
const takeCte = (n: PostgresNames, ttl: number, when: string): string => `
  taken AS (
    INSERT INTO ${n.locks} AS l (id, token, fence, expires_at)
    SELECT $1, $2, nextval('${n.fence}'), clock_timestamp() + ${ms(ttl)}
    WHERE ${when}
      AND (NOT EXISTS (SELECT 1 FROM ahead) OR EXISTS (SELECT 1 FROM held WHERE token = $2))
    ON CONFLICT (id) DO UPDATE
      SET token = excluded.token, fence = excluded.fence, expires_at = excluded.expires_at
      WHERE l.expires_at <= clock_timestamp() OR l.token = excluded.token
    RETURNING fence)`;

/**
 * acquire($1 id, $2 token, $3 ttl ms, $4 waiter lease ms, $5 channel): the lock, or a place in
 * line (kept, with its lease renewed, by a waiter that is still alive), in one statement. A
 * caller that finds the lock free but not its turn wakes the first in line, whose wake-up may
 * have been lost. Answers the fencing token, or the ms until the holder's lease ends when the
 * caller is first in line (-1 otherwise).
 */
export function acquireSql(n: PostgresNames): string {
  return `
WITH ${aheadCte(n)},
  ${takeCte(n, 3, 'TRUE')},
  dequeued AS (
    DELETE FROM ${n.waiters}
    WHERE id = $1 AND (token = $2 OR expires_at <= clock_timestamp())
      AND EXISTS (SELECT 1 FROM taken)),
  queued AS (
    INSERT INTO ${n.waiters} AS w (id, token, seq, expires_at)
    SELECT $1, $2, nextval('${n.queue}'), clock_timestamp() + ${ms(4)}
    WHERE $4 > 0 AND NOT EXISTS (SELECT 1 FROM taken)
    ON CONFLICT (id, token) DO UPDATE
      SET expires_at = excluded.expires_at,
          -- A waiter whose place lapsed joins at the back again.
          seq = CASE WHEN w.expires_at > clock_timestamp() THEN w.seq ELSE excluded.seq END
    RETURNING 1),
  nudged AS (
    SELECT pg_notify($5::text, token) FROM ahead
    WHERE NOT EXISTS (SELECT 1 FROM taken)
      AND NOT EXISTS (SELECT 1 FROM held WHERE expires_at > clock_timestamp()))
SELECT (SELECT fence FROM taken) AS fence,
  (SELECT count(*) FROM nudged) AS nudged,
  (SELECT count(*) FROM queued) AS queued,
  CASE WHEN EXISTS (SELECT 1 FROM ahead) OR ($4 <= 0 AND NOT EXISTS (SELECT 1 FROM mine))
    THEN -1
    ELSE COALESCE((SELECT ${msUntil('expires_at')} FROM held), 0)
  END AS retry_ms`;
}

/**
 * acquireFast($1 id, $2 token, $3 ttl ms): the one-statement uncontended acquire; never queues.
 */
export function acquireFastSql(n: PostgresNames): string {
  return `WITH ${aheadCte(n)}, ${takeCte(n, 3, 'TRUE')},
  dequeued AS (
    DELETE FROM ${n.waiters} WHERE id = $1 AND token = $2 AND EXISTS (SELECT 1 FROM taken))
SELECT (SELECT fence FROM taken) AS fence`;
}

/** The first live waiter of `$1` other than `$2`, and its wake-up when `cond` holds. */
const wakeNextCte = (n: PostgresNames, channel: number, cond: string): string => `
  next AS (
    SELECT token FROM ${n.waiters}
    WHERE id = $1 AND token <> $2 AND expires_at > clock_timestamp()
    ORDER BY seq LIMIT 1),
  woken AS (SELECT pg_notify($${channel}::text, token) FROM next WHERE ${cond})`;

/**
 * release and leave($1 id, $2 token, $3 channel): drops `$2`'s hold and its place in line (and
 * waiters whose place lapsed), and wakes the next in line when the lock was let go or `$2` was
 * first in line. `released`: `$2` held the lock, and its lease had not ended.
 */
export function releaseSql(n: PostgresNames): string {
  return `
WITH gone AS (
    DELETE FROM ${n.locks} WHERE id = $1::text AND token = $2::text
    RETURNING expires_at > clock_timestamp() AS live),
  was_head AS (
    SELECT 1 FROM ${n.waiters} w
    WHERE w.id = $1 AND w.token = $2 AND w.expires_at > clock_timestamp()
      AND NOT EXISTS (
        SELECT 1 FROM ${n.waiters} o
        WHERE o.id = $1 AND o.seq < w.seq AND o.expires_at > clock_timestamp())),
  left_line AS (
    DELETE FROM ${n.waiters}
    WHERE id = $1 AND (token = $2 OR expires_at <= clock_timestamp())),
  ${wakeNextCte(n, 3, 'EXISTS (SELECT 1 FROM gone) OR EXISTS (SELECT 1 FROM was_head)')}
SELECT EXISTS (SELECT 1 FROM gone WHERE live) AS released, (SELECT count(*) FROM woken) AS woken`;
}

/** extend($1 id, $2 token, $3 ttl ms): a new lease, only for the owner of a lease not yet ended. */
export function extendSql(n: PostgresNames): string {
  return `
UPDATE ${n.locks} SET expires_at = clock_timestamp() + ${ms(3)}
WHERE id = $1::text AND token = $2::text AND expires_at > clock_timestamp()
RETURNING 1 AS extended`;
}

/** isLocked($1 id). */
export function isLockedSql(n: PostgresNames): string {
  return `SELECT EXISTS (
  SELECT 1 FROM ${n.locks} WHERE id = $1::text AND expires_at > clock_timestamp()) AS locked`;
}

/**
 * claim($1 id, $2 token, $3 ttl ms, $4 fingerprint, $5 retention ms): reads the record and
 * takes the lock (as acquireFast would) unless a completed record, or an in-flight one with
 * another fingerprint under another holder, answers instead; then writes the in-flight record.
 * `kept` false with a fence: a completion committed meanwhile (the record write saw it), so the
 * caller gives the lock back and asks again.
 */
export function claimSql(n: PostgresNames): string {
  return `
WITH ${aheadCte(n)},
  rec AS (
    SELECT fingerprint, response FROM ${n.records}
    WHERE id = $1 AND expires_at > clock_timestamp()),
  live AS (SELECT token, expires_at FROM held WHERE expires_at > clock_timestamp()),
  ${takeCte(
    n,
    3,
    `NOT EXISTS (SELECT 1 FROM rec WHERE response IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM live, rec WHERE live.token <> $2 AND rec.fingerprint <> $4::text)`,
  )},
  kept AS (
    INSERT INTO ${n.records} AS r (id, fingerprint, response, expires_at)
    SELECT $1, $4, NULL, clock_timestamp() + ${ms(5)} FROM taken
    ON CONFLICT (id) DO UPDATE
      SET fingerprint = excluded.fingerprint, response = NULL, expires_at = excluded.expires_at
      WHERE r.response IS NULL OR r.expires_at <= clock_timestamp()
    RETURNING 1),
  dequeued AS (
    DELETE FROM ${n.waiters} WHERE id = $1 AND token = $2 AND EXISTS (SELECT 1 FROM taken))
SELECT (SELECT fence FROM taken) AS fence,
  EXISTS (SELECT 1 FROM kept) AS kept,
  (SELECT fingerprint FROM rec) AS fingerprint,
  (SELECT response FROM rec) AS response,
  (SELECT token FROM live) AS holder,
  COALESCE((SELECT ${msUntil('expires_at')} FROM live), 0) AS retry_ms`;
}

/**
 * complete($1 id, $2 token, $3 response or NULL, $4 retention ms, $5 channel): if `$2` still
 * holds the lock, stores the response (NULL: drops the record) and lets go of the lock, waking
 * the next in line, in one statement.
 */
export function completeSql(n: PostgresNames): string {
  return `
WITH gone AS (
    DELETE FROM ${n.locks}
    WHERE id = $1::text AND token = $2::text AND expires_at > clock_timestamp()
    RETURNING 1),
  stored AS (
    UPDATE ${n.records} SET response = $3::text, expires_at = clock_timestamp() + ${ms(4)}
    WHERE id = $1 AND $3::text IS NOT NULL AND EXISTS (SELECT 1 FROM gone)
    RETURNING 1),
  dropped AS (
    DELETE FROM ${n.records} WHERE id = $1 AND $3 IS NULL AND EXISTS (SELECT 1 FROM gone)),
  ${wakeNextCte(n, 5, 'EXISTS (SELECT 1 FROM gone)')}
SELECT EXISTS (SELECT 1 FROM gone) AS completed, (SELECT count(*) FROM woken) AS woken`;
}

/**
 * The periodic sweep: rows whose lease ended a while ago and that nobody touched since (locks
 * abandoned by dead holders, places of dead waiters, records past their retention).
 */
export function sweepSql(n: PostgresNames): string {
  const stale = `expires_at < clock_timestamp() - interval '1 second'`;
  return `
WITH l AS (DELETE FROM ${n.locks} WHERE ${stale} RETURNING 1),
  w AS (DELETE FROM ${n.waiters} WHERE ${stale} RETURNING 1),
  r AS (DELETE FROM ${n.records} WHERE ${stale} RETURNING 1)
SELECT (SELECT count(*) FROM l) + (SELECT count(*) FROM w) + (SELECT count(*) FROM r) AS swept`;
}
