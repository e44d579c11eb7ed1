export { lossCurveSpec, type PlotOptions, plotRun, renderSvg, runningAverage, svgToPng } from "./plot.js";
export {
  type EvalRow,
  evalRows,
  type RunReportOptions,
  type RunSummary,
  summarizeRun,
  writeRunReport,
} from "./run-report.js";
