import cliProgress from "cli-progress";

/** What a line says about the latest position, for callers that format the rate themselves. */
export interface ProgressStats {
  done: number;
  total: number;
  /** Seconds since the progress was created, at the latest update. */
  seconds: number;
  /** Positions per second (unscaled), counted from zero or from the first update (`rateFrom`). */
  rate: number;
}

export interface ProgressOptions {
  /** The position that means finished; an update may change it (`update(done, total)`). */
  total?: number;
  /** Unit of the position as shown: "MB", "requests", "M params". */
  unit: string;
  /** Positions per shown unit: 1e6 shows bytes as MB. Default 1. */
  scale?: number;
  /** Decimals of the shown position: default 0 for scale 1, else 1. */
  digits?: number;
  /** The rate part of a line; default `${(rate / scale).toFixed(1)} ${unit}/s`. */
  rateText?: (s: ProgressStats) => string;
  /**
   * State a line shows beside the position ("1234 tokens"), read when a line is printed. stop()
   * prints a final line when it changed since the last one, even at the same position.
   */
  detail?: () => string;
  /** Plain log lines come at most one per this many seconds. Default 10. */
  logEverySec?: number;
  /**
   * "at-once" (default): the first update prints a line, so a log shows the job started.
   * "after-interval": the first line comes `logEverySec` in, so short jobs print none.
   */
  firstLine?: "at-once" | "after-interval";
  /**
   * "start" (default): the rate counts every position since creation. "first-update": positions
   * already done at the first update (answers from a cache) do not count, so the ETA stays honest.
   */
  rateFrom?: "start" | "first-update";
  /** Where progress goes; a TTY gets a live bar. Default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface Progress {
  /** Move to an absolute position (in the unscaled unit), optionally with a new total. */
  update(done: number, total?: number): void;
  /** End the bar, or print the final position if the last line printed did not show it. */
  stop(): void;
}

/** How often a TTY bar's text is recomputed: updates may come per document, redraws need not. */
const BAR_REFRESH_MS = 100;

/**
 * Progress with rate and ETA: a live bar on a TTY, plain log lines (at most one every
 * `logEverySec`) otherwise, so logs of batch jobs stay readable. Lines are throttled, so once a
 * line has been printed, stop() prints the latest position too: a log never ends on whatever the
 * last throttled line said (48.8 % for `init --preset tiny-llama`).
 */
export function createProgress(label: string, opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const scale = opts.scale ?? 1;
  const digits = opts.digits ?? (scale === 1 ? 0 : 1);
  const every = (opts.logEverySec ?? 10) * 1000;
  const start = Date.now();
  let total = opts.total ?? 0;
  let base: number | undefined = opts.rateFrom === "first-update" ? undefined : 0;
  let latest: { done: number; at: number } | undefined;
  let stopped = false;

  const stats = (done: number, at: number): ProgressStats => {
    const seconds = Math.max((at - start) / 1000, 1e-3);
    return { done, total, seconds, rate: (done - (base ?? done)) / seconds };
  };
  const text = (s: ProgressStats, detail: string | undefined) => {
    const eta = s.rate > 0 ? Math.max(s.total - s.done, 0) / s.rate : Number.POSITIVE_INFINITY;
    const rate = opts.rateText ? opts.rateText(s) : `${(s.rate / scale).toFixed(1)} ${opts.unit}/s`;
    return `${detail === undefined ? "" : `${detail} | `}${rate} | ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "?"}`;
  };
  const amount = (n: number) => (n / scale).toFixed(digits);

  const output = stream.isTTY ? liveBar() : logLines();
  // A TTY's bar redraws often; log lines come at most one per `logEverySec`, perhaps not at once.
  const interval = stream.isTTY ? BAR_REFRESH_MS : every;
  let last = !stream.isTTY && opts.firstLine === "after-interval" ? start : Number.NEGATIVE_INFINITY;
  return {
    update(done, newTotal) {
      if (stopped) return;
      if (newTotal !== undefined) total = newTotal;
      base ??= done;
      const at = Date.now();
      latest = { done, at };
      if (at - last >= interval) {
        last = at;
        output.show(done, at);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      output.end();
    },
  };

  /** cli-progress's bar with the same numbers a log line has; stop() draws the latest position. */
  function liveBar() {
    let bar: cliProgress.SingleBar | undefined;
    const show = (done: number, at: number) => {
      const payload = {
        amount: `${amount(done)}/${amount(total)} ${opts.unit}`,
        rest: text(stats(done, at), opts.detail?.()),
      };
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { format: `${label} [{bar}] {percentage}% | {amount} | {rest}`, stream },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, payload);
      }
      bar.setTotal(total);
      bar.update(done, payload);
    };
    const end = () => {
      if (latest) show(latest.done, latest.at);
      bar?.stop();
    };
    return { show, end };
  }

  /** Plain lines; once one has been printed, stop() prints the latest state if it was not shown. */
  function logLines() {
    let printed: { done: number; total: number; detail: string | undefined } | undefined;
    const show = (done: number, at: number) => {
      const detail = opts.detail?.();
      printed = { done, total, detail };
      const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "100.0";
      stream.write(
        `${label}: ${amount(done)}/${amount(total)} ${opts.unit} (${pct}%) | ${text(stats(done, at), detail)}\n`,
      );
    };
    const end = () => {
      if (!printed || !latest) return;
      if (latest.done !== printed.done || total !== printed.total || opts.detail?.() !== printed.detail)
        show(latest.done, latest.at);
    };
    return { show, end };
  }
}
