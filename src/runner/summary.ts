/**
 * Plain-text summary tables of a run's metrics (fractions 0–1, as in metrics.json).
 * Pure functions: the CLI prints what they return.
 */
import type { DetectorRunSummary, RunMetrics } from '../core/types.js';

const DASH = '—';

function fixed(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? DASH : v.toFixed(digits);
}

function familyText(r: DetectorRunSummary): string {
  return `${r.family.stages}, ${r.family.anchors}`;
}

function table(header: string[], rows: string[][], rightAlignFrom = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One row per detector: model, family, mapRef, mapRange, relRange, flipRate, detConsistency, cost (× plain). */
export function formatRunSummary(metrics: RunMetrics): string {
  const header = ['model', 'family', 'mapRef', 'mapRange', 'relRange', 'flipRate', 'detConsistency', 'cost'];
  const rows = metrics.results.map((r) => [r.key, familyText(r), ...headlineCells(r)]);
  return table(header, rows);
}

/** mapRef, mapRange, relRange, flipRate, detConsistency, cost — the cells every summary row shows. */
function headlineCells(r: DetectorRunSummary): string[] {
  return [
    fixed(r.bounds?.mapRef),
    fixed(r.bounds?.mapRange),
    fixed(r.bounds?.relRange),
    fixed(r.consistency.flipRate?.mean),
    fixed(r.consistency.detConsistency.mean),
    r.mitigation === null ? '1.00×' : r.timing.costRatio === null ? DASH : `${r.timing.costRatio.toFixed(2)}×`,
  ];
}

/** mapRange per detector, grouped under a heading per family (the paper's grouping). */
export function formatFamilyTable(metrics: RunMetrics): string {
  const groups = new Map<string, DetectorRunSummary[]>();
  for (const r of metrics.results) {
    const f = familyText(r);
    groups.set(f, [...(groups.get(f) ?? []), r]);
  }
  const blocks: string[] = [];
  for (const [family, rs] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const rows = rs.map((r) => [`  ${r.key}`, ...headlineCells(r)]);
    blocks.push(`${family}\n${table(['  model', 'mapRef', 'mapRange', 'relRange', 'flipRate', 'detConsistency', 'cost'], rows, 1)}`);
  }
  return blocks.join('\n\n');
}
