import type { Column, Row, ScenarioReport } from './scenario';

export function formatNumber(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table; columns from `firstNumeric` on are right-aligned. */
export function markdownTable(header: string[], rows: string[][], firstNumeric = 1): string {
  const lines = [
    `| ${header.map(escapeCell).join(' | ')} |`,
    `| ${header.map((_, i) => (i < firstNumeric ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** `row`'s figure over the baseline's: paired per round where the scenario measured that. */
export function rowRatio(row: Row, baseline: Row, key: string): number | undefined {
  const paired = row.ratios?.[key];
  if (paired !== undefined && Number.isFinite(paired)) return paired;
  const value = row.values[key];
  const base = baseline.values[key];
  if (value === undefined || base === undefined || !Number.isFinite(base) || base === 0) {
    return undefined;
  }
  return value / base;
}

function cell(row: Row, column: Column, baseline: Row | undefined): string {
  const value = row.values[column.key];
  if (value === undefined) return '';
  const text = formatNumber(value, column.digits);
  if (!column.ratio || !baseline) return text;
  const ratio = rowRatio(row, baseline, column.key);
  return ratio === undefined ? text : `${text} (${ratio.toFixed(2)}×)`;
}

/** One scenario: heading, how it was measured, and its table (figures with ratios to the baseline). */
export function scenarioMarkdown(report: ScenarioReport): string {
  const baseline = report.rows.find((r) => r.contenderId === report.baselineId && !r.unavailable);
  const header = ['contender', ...report.columns.map((c) => c.label)];
  const rows = report.rows.map((row) =>
    row.unavailable
      ? [row.name, `n/a: ${row.unavailable}`, ...report.columns.slice(1).map(() => '')]
      : [row.name, ...report.columns.map((column) => cell(row, column, baseline))],
  );
  const paired = report.rows.some((r) => r.ratios && Object.keys(r.ratios).length > 0);
  const ratioNote = !baseline
    ? ''
    : ` Figures in parentheses are ratios to the ${baseline.name} row${paired ? ': the median over rounds of the ratio within each round' : ''} (for latencies and commands, lower is better).`;
  return [
    `### ${report.title}`,
    '',
    `${report.method}${ratioNote} (${(report.elapsedMs / 1000).toFixed(0)} s)`,
    '',
    markdownTable(header, rows),
    ...report.notes.map((n) => `\n${n}`),
  ].join('\n');
}
