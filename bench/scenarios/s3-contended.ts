import type { Contender } from '../contenders/contender';
import { interleave } from '../interleave';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario';
import { sentCommands } from '../command-counter';
import { measureRedis, REDIS_COST_METHOD } from '../redis-cost';
import { now, Samples, sleep } from '../stats';

export const S3_CALLERS = 16;
/** How long a caller waits before giving up: long enough that no acquisition should fail. */
export const CONTENDED_WAIT_MS = 60_000;
/** Work done under the lock: one 1 ms timer. */
export const HOLD_MS = 1;

/** Redis commands per acquisition by name (INFO commandstats), of each contender's last run. */
const commandBreakdown = new Map<string, Map<string, number>>();

function breakdownNote(ctx: BenchContext, id: string): string[] {
  const perCommand = commandBreakdown.get(id);
  const name = ctx.contenders.find((c) => c.id === id)?.name;
  if (!perCommand || !name) return [];
  const top = [...perCommand.entries()]
    .filter(([, n]) => n >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([cmd, n]) => `${cmd} ${n.toFixed(2)}`)
    .join(', ');
  return [
    `${name}, Redis commands per acquisition by name (last round, INFO commandstats): ${top}.`,
  ];
}

/**
 * 16 callers on one key; each holds it for a 1 ms timer, releases, and at once tries again.
 * Runs until `durationMs` has passed; callers waiting then still finish their acquisition.
 */
async function contendedRun(
  ctx: BenchContext,
  contender: Contender,
  tag: string,
  durationMs: number,
) {
  const key = `s3:${tag}`;
  const waits = new Samples();
  let acquisitions = 0;
  let failures = 0;
  let sameAsPrevious = 0;
  let previousHolder = -1;
  // Hand-over gap: from a holder calling release to the next holder holding; and hold times.
  let releasedAt = -1;
  let gapSum = 0;
  let gaps = 0;
  let holdSum = 0;
  const rttMs = await roundTripMs(ctx);
  const redis = await measureRedis([ctx.redis.admin]);
  const commandsBefore = await ctx.redis.commandsProcessed();
  const callsBefore = await ctx.redis.commandCalls();
  const sentBefore = sentCommands();
  const start = now();
  const deadline = start + durationMs;
  const caller = async (id: number): Promise<void> => {
    while (now() < deadline) {
      const t0 = now();
      const release = await contender.acquire(key, CONTENDED_WAIT_MS);
      if (!release) {
        failures++;
        continue;
      }
      const holding = now();
      waits.push(holding - t0);
      if (releasedAt >= 0) {
        gapSum += holding - releasedAt;
        gaps++;
        releasedAt = -1;
      }
      if (id === previousHolder) sameAsPrevious++;
      previousHolder = id;
      acquisitions++;
      await sleep(HOLD_MS);
      releasedAt = now();
      holdSum += releasedAt - holding;
      await release();
    }
  };
  await Promise.all(Array.from({ length: S3_CALLERS }, (_, id) => caller(id)));
  const seconds = (now() - start) / 1000;
  const sent = sentCommands() - sentBefore;
  const cost = await redis.end(acquisitions);
  // INFO stats sees the bench's INFO stats, INFO commandstats and INFO cpu sent since the first
  // one: leave them out.
  const commands = (await ctx.redis.commandsProcessed()) - commandsBefore - 3;
  const callsAfter = await ctx.redis.commandCalls();
  const perCommand = new Map<string, number>();
  for (const [name, calls] of callsAfter) {
    const diff = calls - (callsBefore.get(name) ?? 0);
    if (name !== 'info' && diff > 0) perCommand.set(name, diff / Math.max(1, acquisitions));
  }
  commandBreakdown.set(contender.id, perCommand);
  const meanHoldMs = holdSum / Math.max(1, acquisitions);
  const meanGapMs = gapSum / Math.max(1, gaps);
  return {
    acqPerSec: acquisitions / seconds,
    meanGapMs,
    gapRtts: meanGapMs / rttMs,
    rttMs,
    // A strict FIFO makes each caller wait for the 15 others' turns: hold + hand-over gap each.
    fifoFloorMs: (S3_CALLERS - 1) * (meanHoldMs + meanGapMs),
    meanHoldMs,
    p50WaitMs: waits.percentile(50),
    p99WaitMs: waits.percentile(99),
    maxWaitMs: waits.percentile(100),
    commandsPerAcq: commands / Math.max(1, acquisitions),
    sentPerAcq: sent / Math.max(1, acquisitions),
    sameCallerPct: (100 * sameAsPrevious) / Math.max(1, acquisitions - 1),
    redisCpuUs: cost.redisCpuUs,
    failures,
  };
}

/** Mean round trip of a PING on the bench's own connection (100 in a row), ms. */
async function roundTripMs(ctx: BenchContext): Promise<number> {
  const count = 100;
  const start = now();
  for (let i = 0; i < count; i++) await ctx.redis.admin.ping();
  return (now() - start) / count;
}

export const s3: Scenario = {
  id: 'S3',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const durationMs = ctx.options.quick ? 1000 : 1500;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 1 : 4);
    const rows = await interleave(
      ctx,
      'S3',
      ctx.contenders,
      (c, round) => contendedRun(ctx, c, `${c.id}:${round}`, durationMs),
      {
        rounds,
        timeoutMs: durationMs + CONTENDED_WAIT_MS + 30_000,
        summed: ['failures'],
        baselineId: 'floor',
      },
    );
    return {
      id: 'S3',
      title: `S3 — ${S3_CALLERS} callers on one key, ${HOLD_MS} ms hold`,
      method: `${S3_CALLERS} callers in one process on one key; each acquires (waiting up to ${CONTENDED_WAIT_MS / 1000} s), holds it for a ${HOLD_MS} ms timer, releases and at once tries again; ${rounds} rounds of ${durationMs / 1000} s per contender, interleaved, medians over rounds; callers still waiting at the end of a run finish their turn (so with an unfair lock the longest wait is bounded by the run length). wait = from calling acquire to holding. cmds/acq = diff of INFO total_commands_processed / acquisitions: everything Redis ran, including the subscriber's commands and the commands Lua scripts run inside Redis. sent/acq = commands the contender's ioredis clients sent (round trips; Lua internals not counted). same caller % = share of acquisitions whose holder is the caller that held it just before (fair would be about ${(100 / S3_CALLERS).toFixed(1)} %). mean gap = from a holder calling release to the next holder holding (the hand-over), gap / RTT = that over the mean PING round trip measured just before the run on the bench's own connection; FIFO floor = ${S3_CALLERS - 1} × (mean hold + mean gap), the p99 wait of a strict FIFO where every caller waits for the ${S3_CALLERS - 1} others. ${REDIS_COST_METHOD}`,
      columns: [
        { key: 'acqPerSec', label: 'acq/s', digits: 0, ratio: true },
        { key: 'p50WaitMs', label: 'p50 wait ms', digits: 2, ratio: true },
        { key: 'p99WaitMs', label: 'p99 wait ms', digits: 1, ratio: true },
        { key: 'fifoFloorMs', label: 'FIFO floor ms', digits: 1, ratio: false },
        { key: 'meanGapMs', label: 'mean gap ms', digits: 3, ratio: true },
        { key: 'gapRtts', label: 'gap / RTT', digits: 2, ratio: false },
        { key: 'maxWaitMs', label: 'max wait ms', digits: 0, ratio: false },
        { key: 'commandsPerAcq', label: 'cmds/acq', digits: 2, ratio: true },
        { key: 'sentPerAcq', label: 'sent/acq', digits: 2, ratio: true },
        { key: 'redisCpuUs', label: 'Redis CPU µs/acq', digits: 1, ratio: true },
        { key: 'sameCallerPct', label: 'same caller %', digits: 1, ratio: false },
        { key: 'failures', label: 'failed (all rounds)', digits: 0, ratio: false },
      ],
      rows,
      baselineId: 'floor',
      notes: ['lib', 'floor'].flatMap((id) => breakdownNote(ctx, id)),
      elapsedMs: now() - started,
    };
  },
};
