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
  }
  const s2 = reports.get('S2');
  if (s2) {
    checks.push(
      ratioCheck(s2, 'cyclesPerSec', 'lib', 'floor', 0.9, 'S2 cycles/s ≥ 0.90 × floor', 'cycles/s'),
    );
  }
  const s3 = reports.get('S3');
  if (s3) {
    checks.push(ratioCheck(s3, 'acqPerSec', 'lib', 'floor', 1, "S3 acq/s ≥ floor's", 'acq/s'));
    checks.push(limitCheck(s3, 'p99WaitMs', 25, 1, 'S3 p99 wait ≤ 25 ms', 'ms'));
    checks.push(
      limitCheck(s3, 'commandsPerAcq', 4, 2, 'S3 ≤ 4 Redis commands per acquisition', 'commands'),
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
        'plain',
        0.85,
        'S5 locked ≥ 0.85 × plain req/s',
        'req/s',
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
