import { formatNumber, markdownTable, rowRatio } from './report';
import type { Row, ScenarioReport } from './scenario';

/** Contenders that count as published peers for "ahead of every peer". */
const PEER_IDS = ['redlock5', 'redlock4', 'redis-semaphore', 'sesamecare'];

interface Check {
  target: string;
  measured: string;
  /** undefined: could not be measured in this run. */
  pass: boolean | undefined;
}

function row(report: ScenarioReport | undefined, id: string): Row | undefined {
  const found = report?.rows.find((r) => r.contenderId === id);
  return found && !found.unavailable ? found : undefined;
}

function ratioCheck(
  report: ScenarioReport | undefined,
  key: string,
  id: string,
  baseId: string,
  min: number,
  target: string,
  label: string,
): Check {
  const mine = row(report, id);
  const baseline = row(report, baseId);
  const ratio = mine && baseline ? rowRatio(mine, baseline, key) : undefined;
  if (!mine || !baseline || ratio === undefined) {
    return { target, measured: 'not measured', pass: undefined };
  }
  return {
    target,
    measured: `${formatNumber(mine.values[key], 0)} vs ${formatNumber(baseline.values[key], 0)} ${label} (${ratio.toFixed(2)}×)`,
    pass: ratio >= min,
  };
}

/** `id`'s `key` over the baseline's (paired per round where measured) at most `max`. */
function ratioAtMost(
  report: ScenarioReport | undefined,
  key: string,
  id: string,
  baseId: string,
  max: number,
  target: string,
  unit: string,
): Check {
  const mine = row(report, id);
  const baseline = row(report, baseId);
  const ratio = mine && baseline ? rowRatio(mine, baseline, key) : undefined;
  if (!mine || !baseline || ratio === undefined) {
    return { target, measured: 'not measured', pass: undefined };
  }
  return {
    target,
    measured: `${formatNumber(mine.values[key], 1)} vs ${formatNumber(baseline.values[key], 1)} ${unit} (${ratio.toFixed(2)}×)`,
    pass: ratio <= max,
  };
}

function limitCheck(
  report: ScenarioReport | undefined,
  key: string,
  max: number,
  digits: number,
  target: string,
  unit: string,
): Check {
  const value = row(report, 'lib')?.values[key];
  if (value === undefined) return { target, measured: 'not measured', pass: undefined };
  return { target, measured: `${formatNumber(value, digits)} ${unit}`, pass: value <= max };
}

/** S1: this library's cycles/s against each peer's, both as (paired) ratios to the floor. */
function aheadOfPeers(s1: ScenarioReport): Check {
  const target = 'S1 ahead of every peer';
  const floor = row(s1, 'floor');
  const lib = row(s1, 'lib');
  const libRatio = lib && floor ? rowRatio(lib, floor, 'cyclesPerSec') : undefined;
  const peers = PEER_IDS.flatMap((id) => {
    const peer = row(s1, id);
    const ratio = peer && floor ? rowRatio(peer, floor, 'cyclesPerSec') : undefined;
    return peer && ratio !== undefined ? [{ name: peer.name, ratio }] : [];
  });
  if (libRatio === undefined || peers.length === 0) {
    return { target, measured: 'not measured', pass: undefined };
  }
  const best = peers.reduce((a, b) => (a.ratio >= b.ratio ? a : b));
  const missing = PEER_IDS.filter((id) => !row(s1, id));
  const missingNote = missing.length ? `; not compared (n/a): ${missing.join(', ')}` : '';
  return {
    target,
    measured: `${libRatio.toFixed(2)}× floor vs best peer ${best.name} ${best.ratio.toFixed(2)}× floor${missingNote}`,
    pass: libRatio > best.ratio,
  };
}

export function evaluateTargets(reports: Map<string, ScenarioReport>): Check[] {
  const checks: Check[] = [];
  const s1 = reports.get('S1');
  if (s1) {
    checks.push(
      ratioCheck(
        s1,
        'cyclesPerSec',
        'lib',
        'floor',
        0.95,
        'S1 cycles/s ≥ 0.95 × floor',
        'cycles/s',
      ),
    );
    checks.push(aheadOfPeers(s1));
    checks.push(
      ratioAtMost(
        s1,
        'redisCpuUs',
        'lib',
        'floor',
        1.3,
        "S1 Redis CPU per cycle ≤ 1.3 × floor's",
        'µs',
      ),
    );
  }
  const s2 = reports.get('S2');
  if (s2) {
    checks.push(
      ratioCheck(
        s2,
        'cyclesPerSec',
        'lib',
        'floor',
        0.95,
        'S2 cycles/s ≥ 0.95 × floor',
        'cycles/s',
      ),
    );
    checks.push(
      ratioAtMost(
        s2,
        'redisCpuUs',
        'lib',
        'floor',
        1.3,
        "S2 Redis CPU per cycle ≤ 1.3 × floor's",
        'µs',
      ),
    );
  }
  const s3 = reports.get('S3');
  if (s3) {
    checks.push(ratioCheck(s3, 'acqPerSec', 'lib', 'floor', 1, "S3 acq/s ≥ floor's", 'acq/s'));
    const lib3 = row(s3, 'lib')?.values;
    checks.push(
      lib3 === undefined
        ? {
            target: 'S3 mean hand-over gap ≤ 2 round trips',
            measured: 'not measured',
            pass: undefined,
          }
        : {
            target: 'S3 mean hand-over gap ≤ 2 round trips',
            measured: `${formatNumber(lib3.meanGapMs, 3)} ms = ${formatNumber(lib3.gapRtts, 2)} × RTT (${formatNumber(lib3.rttMs, 3)} ms)`,
            pass: lib3.gapRtts <= 2,
          },
    );
    checks.push(
      lib3 === undefined
        ? { target: 'S3 p99 wait ≤ 1.1 × FIFO floor', measured: 'not measured', pass: undefined }
        : {
            target: 'S3 p99 wait ≤ 1.1 × FIFO floor',
            measured: `${formatNumber(lib3.p99WaitMs, 1)} ms vs 15 × (hold + gap) = ${formatNumber(lib3.fifoFloorMs, 1)} ms (${(lib3.p99WaitMs / lib3.fifoFloorMs).toFixed(2)}×)`,
            pass: lib3.p99WaitMs <= 1.1 * lib3.fifoFloorMs,
          },
    );
    checks.push(
      limitCheck(s3, 'sentPerAcq', 4, 2, 'S3 ≤ 4 commands sent per acquisition', 'commands'),
    );
  }
  const s4 = reports.get('S4');
  if (s4) checks.push(limitCheck(s4, 'lostUpdates', 0, 0, 'S4 no lost updates', 'lost'));
  const s5 = reports.get('S5');
  if (s5) {
    checks.push(
      ratioCheck(
        s5,
        'reqPerSec',
        'locked',
        'hand',
        0.95,
        'S5 @WithLock ≥ 0.95 × by-hand req/s',
        'req/s',
      ),
    );
    checks.push(
      ratioAtMost(
        s5,
        'redisCpuUs',
        'locked',
        'hand',
        1.3,
        "S5 Redis CPU per request ≤ 1.3 × by hand's",
        'µs',
      ),
    );
  }
  const s8 = reports.get('S8');
  if (s8) {
    checks.push(
      ratioCheck(
        s8,
        'reqPerSec',
        'idempotent',
        'hand',
        0.95,
        'S8 @Idempotent() ≥ 0.95 × hand-written req/s',
        'req/s',
      ),
    );
  }
  const s6 = reports.get('S6');
  if (s6) {
    const lib = row(s6, 'lib')?.values;
    checks.push(
      lib === undefined
        ? { target: 'S6 no heap growth beyond noise', measured: 'not measured', pass: undefined }
        : {
            target: 'S6 no heap growth beyond noise',
            measured: `${formatNumber(lib.growthKiB, 0)} KiB growth (allowance ${formatNumber(lib.noiseKiB, 0)} KiB)`,
            pass: lib.pass === 1,
          },
    );
    checks.push(
      limitCheck(
        s6,
        'keysLeft',
        16_384,
        0,
        'S6 Redis keys left ≤ 16,384 (bounded counters)',
        'keys',
      ),
    );
    checks.push(
      limitCheck(s6, 'redisGrowthMiB', 4, 2, 'S6 Redis used_memory growth ≤ 4 MiB', 'MiB'),
    );
  }
  const s7 = reports.get('S7');
  if (s7) {
    const lib7 = row(s7, 'lib@3')?.values;
    const floor7 = row(s7, 'floor@3')?.values;
    checks.push(
      lib7 === undefined
        ? { target: 'S7 3 masters ≥ 2.5 × 1 master', measured: 'not measured', pass: undefined }
        : {
            target: 'S7 3 masters ≥ 2.5 × 1 master',
            measured: `${lib7.vsOneMaster.toFixed(2)}× (floor ${floor7 ? floor7.vsOneMaster.toFixed(2) : '–'}×), CPU-bound: see S7`,
            pass: lib7.vsOneMaster >= 2.5,
          },
    );
  }
  const s9 = reports.get('S9');
  if (s9) {
    for (const peer of ['rl-redlock5', 'rl-sesamecare']) {
      checks.push(
        ratioCheck(
          s9,
          's1.cyclesPerSec',
          'rl-lib',
          peer,
          1,
          `S9 Redlock S1 cycles/s ≥ ${row(s9, peer)?.name ?? peer}`,
          'cycles/s',
        ),
      );
    }
  }
  for (const [id, libId] of [
    ['S9', 'rl-lib'],
    ['S10', 'pg-lib'],
    ['S11', 'etcd-lib'],
  ]) {
    const report = reports.get(id);
    if (!report) continue;
    const target = `${id} S4 no lost updates`;
    const lost = row(report, libId)?.values['s4.lostUpdates'];
    checks.push(
      lost === undefined
        ? { target, measured: 'not measured', pass: undefined }
        : { target, measured: `${formatNumber(lost, 0)} lost`, pass: lost === 0 },
    );
  }
  return checks;
}

export function targetsMarkdown(checks: Check[]): string {
  return markdownTable(
    ['target (this library, defaults)', 'measured', 'result'],
    checks.map((c) => [
      c.target,
      c.measured,
      c.pass === undefined ? 'n/a' : c.pass ? 'PASS' : 'MISS',
    ]),
  );
}
