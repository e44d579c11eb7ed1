import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

/** One line of metrics.jsonl; the same figures as the stderr log line. */
export interface StepMetrics {
  step: number;
  total_steps: number;
  /** Token-weighted mean loss of the global batch (NaN if non-finite). */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  grad_norm: number;
  /** Label tokens in this step's global batch. */
  step_tokens: number;
  /** Input tokens seen so far (all ranks), including this step. */
  tokens_seen: number;
  tokens_per_s: number;
  /** Model FLOPs utilisation of one device, 0..1. */
  mfu: number;
  /** Resident memory of this process, bytes. */
  mem_bytes: number;
  elapsed_s: number;
  eta_s: number;
  /** True when the update was skipped because loss or grad norm was non-finite. */
  skipped: boolean;
}

export interface EvalMetrics {
  step: number;
  eval_loss: number;
  eval_tokens: number;
}

function duration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m${String(s % 60).padStart(2, "0")}s`;
}

/** `step | loss | lr | grad_norm | tok/s | MFU | mem | ETA` — the log contract of STYLE.md. */
export function formatStepLine(m: StepMetrics): string {
  const width = String(m.total_steps).length;
  return [
    `step ${String(m.step).padStart(width)}/${m.total_steps}`,
    `loss ${Number.isFinite(m.loss) ? m.loss.toFixed(4) : String(m.loss)}`,
    `lr ${m.lr.toExponential(2)}`,
    `grad_norm ${Number.isFinite(m.grad_norm) ? m.grad_norm.toFixed(3) : String(m.grad_norm)}`,
    `tok/s ${m.tokens_per_s.toFixed(0)}`,
    `MFU ${(100 * m.mfu).toFixed(2)}%`,
    `mem ${(m.mem_bytes / 2 ** 30).toFixed(2)} GiB`,
    `ETA ${duration(m.eta_s)}${m.skipped ? " | SKIPPED (non-finite)" : ""}`,
  ].join(" | ");
}

/** JSON cannot hold NaN/Infinity; they are written as strings so a plot still sees them. */
function finiteOrString(v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}

/** Appends one JSON object per line; each append is one write so a crash leaves whole lines. */
export class MetricsWriter {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  write(record: StepMetrics | EvalMetrics | Record<string, unknown>): void {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) clean[k] = finiteOrString(v);
    appendFileSync(this.path, `${JSON.stringify(clean)}\n`);
  }
}

/**
 * Reads metrics.jsonl. A torn last line (crash mid-write) is ignored; after a resume the steps
 * past the checkpoint are logged again, and the later record of a step wins.
 */
export function readMetrics(path: string): { steps: StepMetrics[]; evals: EvalMetrics[] } {
  const text = readFileSync(path, "utf8");
  const steps = new Map<number, StepMetrics>();
  const evals = new Map<number, EvalMetrics>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    for (const [k, v] of Object.entries(rec))
      if (typeof v === "string" && /^-?(NaN|Infinity)$/.test(v)) rec[k] = Number(v);
    if (typeof rec.step !== "number") continue;
    if ("eval_loss" in rec) evals.set(rec.step, rec as unknown as EvalMetrics);
    else if ("loss" in rec) steps.set(rec.step, rec as unknown as StepMetrics);
  }
  const byStep = <T extends { step: number }>(m: Map<number, T>) =>
    [...m.values()].sort((a, b) => a.step - b.step);
  return { steps: byStep(steps), evals: byStep(evals) };
}
