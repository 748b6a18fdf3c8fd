import type { Contender } from './contenders/contender';
import type { BenchRedis } from './redis';

/** A column of a scenario's table. */
export interface Column {
  key: string;
  label: string;
  /** Digits after the point. */
  digits: number;
  /** Print "(1.02×)" against the floor's figure. */
  ratio: boolean;
}

/** One contender's figures in one scenario (medians over rounds), or why it has none. */
export interface Row {
  contenderId: string;
  name: string;
  values: Record<string, number>;
  /**
   * Ratios to the baseline row: the median over rounds of this row's figure divided by the
   * baseline's figure of the same round (sturdier than a ratio of medians when the machine's
   * speed drifts). Figures without one here get value / baseline value.
   */
  ratios?: Record<string, number>;
  /** Set when the contender could not run this scenario: shown as "n/a" with this reason. */
  unavailable?: string;
}

export interface ScenarioReport {
  id: string;
  title: string;
  /** How it was measured, one paragraph. */
  method: string;
  columns: Column[];
  rows: Row[];
  /** Id of the row the ratios are taken against; undefined: no ratios. */
  baselineId?: string;
  notes: string[];
  elapsedMs: number;
}

export interface BenchOptions {
  quick: boolean;
  /** Overrides every scenario's own number of rounds. */
  rounds: number | undefined;
  s6Cycles: number;
}

export interface BenchContext {
  redis: BenchRedis;
  options: BenchOptions;
  /** Contenders that passed their smoke test, in table order. */
  contenders: Contender[];
  /** Contenders that could not be used, with the reason. */
  unavailable: { id: string; name: string; reason: string }[];
  log(message: string): void;
}

export interface Scenario {
  id: string;
  run(ctx: BenchContext): Promise<ScenarioReport>;
}
