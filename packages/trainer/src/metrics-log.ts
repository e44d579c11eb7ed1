import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { filterJsonl, JsonlAppender, readJsonl } from "@biomed-llama/safe-files";

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

/**
 * Appends one JSON object per line; each append is one write, so a crash leaves whole lines but for
 * the one being written, which the next writer cuts off (with a warning) instead of gluing a row onto.
 */
export class MetricsWriter {
  private readonly out: JsonlAppender;

  constructor(
    readonly path: string,
    warn?: (message: string) => void,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.out = new JsonlAppender(path, warn);
  }

  write(record: StepMetrics | EvalMetrics | Record<string, unknown>): void {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) clean[k] = finiteOrString(v);
    this.out.append(clean);
  }
}

/**
 * A resumed run continues from its checkpoint's step: the rows logged after it (by the run that was
 * killed) are dropped, atomically, so every step appears once. Returns the rows dropped.
 */
export function truncateMetrics(path: string, step: number, warn?: (message: string) => void): number {
  return filterJsonl(
    path,
    (r) => typeof (r as { step?: unknown }).step !== "number" || (r as { step: number }).step <= step,
    warn,
  );
}

/**
 * Reads metrics.jsonl. A torn last line (crash mid-write) is dropped with a warning; a damaged line
 * elsewhere is an error naming the line. If a step appears twice (a log from before resumes
 * truncated it), the later record wins.
 */
export function readMetrics(
  path: string,
  warn?: (message: string) => void,
): { steps: StepMetrics[]; evals: EvalMetrics[] } {
  const steps = new Map<number, StepMetrics>();
  const evals = new Map<number, EvalMetrics>();
  for (const r of readJsonl(path, warn)) {
    if (typeof r !== "object" || r === null) continue;
    const rec = r as Record<string, unknown>;
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
