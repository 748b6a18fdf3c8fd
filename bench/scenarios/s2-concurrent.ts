import type { Contender } from '../contenders/contender';
import { interleave } from '../interleave';
import type { BenchContext, Scenario, ScenarioReport } from '../scenario';
import { now } from '../stats';

const CALLERS = 64;
const KEYS = 10_000;

/** 64 callers, each cycle on a random one of 10,000 keys, trying without waiting. */
async function concurrentCycles(contender: Contender, tag: string, durationMs: number) {
  let cycles = 0;
  let busy = 0;
  const start = now();
  const deadline = start + durationMs;
  const caller = async (): Promise<void> => {
    while (now() < deadline) {
      const release = await contender.acquire(`s2:${tag}:${(Math.random() * KEYS) | 0}`, 0);
      if (!release) {
        busy++;
        continue;
      }
      await release();
      cycles++;
    }
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  const seconds = (now() - start) / 1000;
  return { cyclesPerSec: cycles / seconds, busyPct: (100 * busy) / Math.max(1, cycles + busy) };
}

export const s2: Scenario = {
  id: 'S2',
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    const started = now();
    const durationMs = ctx.options.quick ? 150 : 200;
    const rounds = ctx.options.rounds ?? (ctx.options.quick ? 3 : 15);
    const rows = await interleave(
      ctx,
      'S2',
      ctx.contenders,
      (c, round) => concurrentCycles(c, `${c.id}:${round}`, durationMs),
      {
        rounds,
        warmup: (c) => concurrentCycles(c, `${c.id}:warm`, ctx.options.quick ? 100 : 300),
        timeoutMs: durationMs + 30_000,
        baselineId: 'floor',
      },
    );
    return {
      id: 'S2',
      title: `S2 — ${CALLERS} concurrent callers on ${KEYS.toLocaleString('en-US')} keys`,
      method: `${CALLERS} callers in one process; each cycle picks a random key of ${KEYS.toLocaleString('en-US')} and tries it without waiting (tryAcquire / retryCount 0 / one attempt); a key found held counts as "busy" and the caller moves on. cycles/s counts successful acquire + release cycles. ${rounds} rounds of ${durationMs} ms per contender, interleaved; medians over rounds.`,
      columns: [
        { key: 'cyclesPerSec', label: 'cycles/s', digits: 0, ratio: true },
        { key: 'busyPct', label: 'busy %', digits: 2, ratio: false },
      ],
      rows,
      baselineId: 'floor',
      notes: [],
      elapsedMs: now() - started,
    };
  },
};
