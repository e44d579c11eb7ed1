import type { PlannedStratum } from "./mixture.js";
import type { MixRow } from "./run-mix.js";

/** A table row; `realised` is absent for a plan that has not been drawn. */
export type TableRow = Pick<MixRow, "source" | "group" | "samples" | "weight" | "target"> & {
  realised?: number;
};

/** Percent with enough decimals that tiny sources (codex-cot: 0.006 %) do not print as 0.00. */
export function formatPercent(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return "0";
  if (p >= 0.1) return p.toFixed(2);
  return p.toPrecision(2);
}

/**
 * The printed table: source, samples, weight, target %, realised %. Sources with several
 * sub-sets (the exemplar sets) get a subtotal row, which is what the BioMed-LLaMA README lists.
 */
export function formatMixTable(rows: ReadonlyArray<TableRow>): string {
  const withRealised = rows.some((r) => r.realised !== undefined);
  const body: string[][] = [];
  const groups = [...new Set(rows.map((r) => r.group))];
  for (const group of groups) {
    const members = rows.filter((r) => r.group === group);
    const sum = (f: (r: (typeof members)[number]) => number) => members.reduce((a, r) => a + f(r), 0);
    if (members.length > 1) {
      const weights = [...new Set(members.map((r) => r.weight))];
      body.push([
        group,
        String(sum((r) => r.samples)),
        weights.join("/"),
        formatPercent(sum((r) => r.target)),
        formatPercent(sum((r) => r.realised ?? 0)),
      ]);
    }
    for (const r of members) {
      body.push([
        members.length > 1 ? `  ${r.source}` : r.source,
        String(r.samples),
        String(r.weight),
        formatPercent(r.target),
        formatPercent(r.realised ?? 0),
      ]);
    }
  }
  const header = ["source", "samples", "weight", "target %", "realised %"];
  if (!withRealised) {
    header.pop();
    for (const row of body) row.pop();
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** The table of a plan before drawing (no realised column), e.g. the README's mixture. */
export function formatPlanTable(plan: ReadonlyArray<PlannedStratum>): string {
  return formatMixTable(plan.map((p) => ({ ...p, samples: p.count })));
}
