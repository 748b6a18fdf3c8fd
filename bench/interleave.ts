import type { Contender } from './contenders/contender';
import type { BenchContext, Row } from './scenario';
import { median } from './stats';

export type Figures = Record<string, number>;

export interface InterleaveOptions {
  /** Rounds (each contender once per round); `--rounds` overrides it. */
  rounds: number;
  /** Runs each contender once, unmeasured, before round 1 (JIT, connections, script cache). */
  warmup?: (contender: Contender) => Promise<unknown>;
  /** A run taking longer than this is abandoned and the contender reported as failed. */
  timeoutMs: number;
  /** Figures added up over the rounds (counts of failures) instead of taking their median. */
  summed?: readonly string[];
  /** Contender whose figures of each round the others' are divided by (see `Row.ratios`). */
  baselineId?: string;
}

/** Thrown when the bench's redis-server is gone: no later run can succeed. */
export class RedisGoneError extends Error {}

/** `promise`, unless it takes longer than `ms` or the server dies first. */
export function bounded<T>(
  ctx: BenchContext,
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  const gone = ctx.redis.failure.catch((err: Error) => {
    throw new RedisGoneError(err.message);
  });
  return Promise.race([promise, timeout, gone]).finally(() => clearTimeout(timer));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs `runOnce` for every contender, round-robin for `options.rounds` rounds (each round
 * starting one contender later, so none always runs first), on a flushed Redis each time.
 * Resolves one row per contender with the median of each figure over the rounds.
 */
export async function interleave(
  ctx: BenchContext,
  scenarioId: string,
  contenders: readonly Contender[],
  runOnce: (contender: Contender, round: number) => Promise<Figures>,
  options: InterleaveOptions,
): Promise<Row[]> {
  /** Per contender, its figures of each round (undefined where that run failed). */
  const results = new Map<string, (Figures | undefined)[]>();
  const failed = new Map<string, string>();
  if (options.warmup) {
    for (const contender of contenders) {
      try {
        await ctx.redis.flush();
        await bounded(ctx, options.warmup(contender), options.timeoutMs, 'warm-up');
      } catch (err) {
        if (err instanceof RedisGoneError) throw err;
        failed.set(contender.id, describe(err));
      }
    }
  }
  const { rounds } = options;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length];
      if (failed.has(contender.id)) continue;
      await ctx.redis.flush();
      try {
        const figures = await bounded(
          ctx,
          runOnce(contender, round),
          options.timeoutMs,
          `${scenarioId} ${contender.name}`,
        );
        ctx.log(`${scenarioId} round ${round + 1} ${contender.name}: ${summary(figures)}`);
        const list = results.get(contender.id) ?? [];
        list[round] = figures;
        results.set(contender.id, list);
      } catch (err) {
        if (err instanceof RedisGoneError) throw err;
        ctx.log(`${scenarioId} ${contender.name} failed: ${describe(err)}`);
        failed.set(contender.id, describe(err));
      }
    }
  }
  const baseRuns = options.baselineId ? results.get(options.baselineId) : undefined;
  const rows: Row[] = contenders.map((contender) => {
    const reason = failed.get(contender.id);
    const byRound = results.get(contender.id) ?? [];
    const runs = byRound.filter((r): r is Figures => r !== undefined);
    if (reason !== undefined || runs.length === 0) {
      return {
        contenderId: contender.id,
        name: contender.name,
        values: {},
        unavailable: `failed: ${reason ?? 'no result'}`,
      };
    }
    const values: Figures = {};
    const ratios: Figures = {};
    for (const key of Object.keys(runs[0])) {
      const perRound = runs.map((r) => r[key]);
      values[key] = options.summed?.includes(key)
        ? perRound.reduce((a, b) => a + b, 0)
        : median(perRound);
      if (baseRuns && !options.summed?.includes(key)) {
        const paired = byRound.flatMap((figures, round) => {
          const base = baseRuns[round]?.[key];
          return figures && base ? [figures[key] / base] : [];
        });
        if (paired.length > 0) ratios[key] = median(paired);
      }
    }
    return { contenderId: contender.id, name: contender.name, values, ratios };
  });
  return [...rows, ...unavailableRows(ctx)];
}

export function unavailableRows(ctx: BenchContext): Row[] {
  return ctx.unavailable.map((u) => ({
    contenderId: u.id,
    name: u.name,
    values: {},
    unavailable: u.reason,
  }));
}

function summary(figures: Figures): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(' ');
}
