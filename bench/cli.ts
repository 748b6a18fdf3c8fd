import type { BenchOptions } from './scenario';

export const ALL_SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9', 'S10', 'S11'];
export const DEFAULT_S6_CYCLES = 1_000_000;

export interface CliOptions extends BenchOptions {
  only: string[];
  /** Contender ids to run (default: all). */
  contenders: string[] | undefined;
}

export const USAGE = `npm run bench -- [--only S1,S8] [--quick] [--rounds N] [--s6-cycles N] [--contenders lib,floor]
  --only        scenarios to run (default: ${ALL_SCENARIOS.join(',')})
  --quick       short runs, fewer rounds, S6 50,000 cycles (for development)
  --rounds      interleaved rounds of every scenario (default: each scenario's own)
  --s6-cycles   cycles of the S6 memory run (default ${DEFAULT_S6_CYCLES}; env BENCH_S6_CYCLES)
  --contenders  contender ids of S1-S8 to include (default: all; S9-S11 always run their own)`;

function positiveInt(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive integer`);
  return value;
}

export function parseArgs(argv: readonly string[]): CliOptions {
  let only = ALL_SCENARIOS;
  let quick = false;
  let rounds: number | undefined;
  let s6Cycles: number | undefined;
  let contenders: string[] | undefined;
  const list = (text: string | undefined): string[] =>
    (text ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--only':
        only = list(value()).map((s) => s.toUpperCase());
        for (const id of only) {
          if (!ALL_SCENARIOS.includes(id)) throw new Error(`unknown scenario ${id}`);
        }
        break;
      case '--quick':
        quick = true;
        break;
      case '--rounds':
        rounds = positiveInt(value(), '--rounds');
        break;
      case '--s6-cycles':
        s6Cycles = positiveInt(value(), '--s6-cycles');
        break;
      case '--contenders':
        contenders = list(value());
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  const envCycles = process.env.BENCH_S6_CYCLES;
  return {
    only,
    quick,
    rounds,
    s6Cycles:
      s6Cycles ??
      (envCycles ? positiveInt(envCycles, 'BENCH_S6_CYCLES') : quick ? 50_000 : DEFAULT_S6_CYCLES),
    contenders,
  };
}
