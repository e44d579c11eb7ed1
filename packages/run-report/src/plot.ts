import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { writeFileAtomic } from "@biomed-llama/safe-files";
import { DataFormatError, readMetrics, type StepMetrics } from "@biomed-llama/trainer";

/**
 * Trailing running average over the last `window` values (fewer at the start), the smoothing of
 * the BioMed-LLaMA loss-curve figure. Non-finite values (skipped steps) are left out of the mean.
 */
export function runningAverage(values: readonly number[], window: number): number[] {
  const out: number[] = [];
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isFinite(values[i])) {
      sum += values[i];
      count++;
    }
    const drop = i - window;
    if (drop >= 0 && Number.isFinite(values[drop])) {
      sum -= values[drop];
      count--;
    }
    out.push(count > 0 ? sum / count : Number.NaN);
  }
  return out;
}

export interface PlotOptions {
  /** Running-average window in steps; default max(1, round(steps / 50)). */
  smoothWindow?: number;
  title?: string;
  width?: number;
}

/**
 * A Vega-Lite spec with three panels sharing the step axis: loss (raw, faint, and its running
 * average, plus held-out loss points when there are any), learning rate, and tokens/s.
 */
export function lossCurveSpec(
  steps: StepMetrics[],
  evals: { step: number; eval_loss: number }[],
  opts: PlotOptions = {},
): Record<string, unknown> {
  const window = opts.smoothWindow ?? Math.max(1, Math.round(steps.length / 50));
  const smooth = runningAverage(
    steps.map((s) => s.loss),
    window,
  );
  const rows = steps.map((s, i) => ({
    step: s.step,
    loss: Number.isFinite(s.loss) ? s.loss : null,
    smoothed: Number.isFinite(smooth[i]) ? smooth[i] : null,
    lr: s.lr,
    tokens_per_s: s.tokens_per_s,
  }));
  const width = opts.width ?? 640;
  const x = { field: "step", type: "quantitative", title: "step" };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: opts.title ?? "training",
    data: { values: rows },
    vconcat: [
      {
        width,
        height: 260,
        title: `loss (running average over ${window} step${window === 1 ? "" : "s"})${evals.length ? "; dots: held-out loss" : ""}`,
        layer: [
          {
            mark: { type: "line", opacity: 0.3, color: "#4c78a8" },
            encoding: {
              x,
              y: { field: "loss", type: "quantitative", title: "loss", scale: { zero: false } },
            },
          },
          {
            mark: { type: "line", strokeWidth: 2, color: "#e45756" },
            encoding: { x, y: { field: "smoothed", type: "quantitative" } },
          },
          ...(evals.length
            ? [
                {
                  data: { values: evals.map((e) => ({ step: e.step, eval_loss: e.eval_loss })) },
                  mark: { type: "point", filled: true, color: "#54a24b" },
                  encoding: { x, y: { field: "eval_loss", type: "quantitative" } },
                },
              ]
            : []),
        ],
      },
      {
        width,
        height: 120,
        title: "learning rate",
        mark: { type: "line", color: "#f58518" },
        encoding: { x, y: { field: "lr", type: "quantitative", title: "lr", axis: { format: ".1e" } } },
      },
      {
        width,
        height: 120,
        title: "throughput",
        mark: { type: "line", color: "#72b7b2" },
        encoding: { x, y: { field: "tokens_per_s", type: "quantitative", title: "tokens/s" } },
      },
    ],
  };
}

/** Renders a Vega-Lite spec to SVG headlessly (vega's "none" renderer needs no canvas). */
export async function renderSvg(vlSpec: Record<string, unknown>): Promise<string> {
  const vega = await import("vega");
  const vl = await import("vega-lite");
  const compiled = vl.compile(vlSpec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let wasmReady: Promise<void> | null = null;

/**
 * SVG → PNG with resvg compiled to WebAssembly (no native build), text set in DejaVu Sans from
 * the dejavu-fonts-ttf package so the picture is the same on every machine.
 */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const require = createRequire(import.meta.url);
  const resvg = await import("@resvg/resvg-wasm");
  if (!wasmReady)
    wasmReady = resvg.initWasm(readFileSync(require.resolve("@resvg/resvg-wasm/index_bg.wasm")));
  await wasmReady;
  const font = readFileSync(require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf"));
  const r = new resvg.Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: { fontBuffers: [font], defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  const img = r.render();
  const png = img.asPng();
  img.free();
  r.free();
  return png;
}

/** Reads RUN_DIR/metrics.jsonl and writes RUN_DIR/loss.svg and RUN_DIR/loss.png. */
export async function plotRun(
  runDir: string,
  opts: PlotOptions & { png?: boolean } = {},
): Promise<{ svg: string; png: string | null; steps: number }> {
  const metricsPath = join(runDir, "metrics.jsonl");
  if (!existsSync(metricsPath))
    throw new DataFormatError(`${metricsPath}: not found (is ${runDir} a training run?)`);
  const { steps, evals } = readMetrics(metricsPath);
  if (steps.length === 0) throw new DataFormatError(`${metricsPath}: no step records to plot`);
  const svg = await renderSvg(lossCurveSpec(steps, evals, { title: runDir, ...opts }));
  const svgPath = join(runDir, "loss.svg");
  writeFileAtomic(svgPath, svg);
  let pngPath: string | null = null;
  if (opts.png !== false) {
    pngPath = join(runDir, "loss.png");
    writeFileAtomic(pngPath, await svgToPng(svg));
  }
  return { svg: svgPath, png: pngPath, steps: steps.length };
}
