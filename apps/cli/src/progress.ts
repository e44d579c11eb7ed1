import cliProgress from "cli-progress";

export interface Progress {
  /** Advance to an absolute position (same unit as total). */
  update(done: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

/**
 * Progress with rate and ETA: a live bar on a TTY, plain log lines (at most one per
 * `logEverySec`) otherwise, so logs of batch jobs stay readable; once a line has been printed,
 * stop() prints the final position too.
 */
export function createProgress(
  label: string,
  total: number,
  opts: { unit?: string; scale?: number; logEverySec?: number } = {},
): Progress {
  const unit = opts.unit ?? "";
  const scale = opts.scale ?? 1;
  const start = Date.now();
  const fmt = (n: number) => (n / scale).toFixed(scale === 1 ? 0 : 1);
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {done}/{all} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { done: fmt(0), all: fmt(total), rate: "0" });
    return {
      update(done, extra) {
        const rate = done / scale / Math.max((Date.now() - start) / 1000, 1e-3);
        bar.update(done, { ...extra, done: fmt(done), all: fmt(total), rate: rate.toFixed(1) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let last = 0;
  // Lines are throttled; the last position reported must still be printed at stop(), or a log
  // ends on whatever the last throttled line said (48.8 % for `init --preset tiny-llama`).
  let latest: number | undefined;
  let printed: number | undefined;
  const line = (done: number) => {
    printed = done;
    const sec = Math.max((Date.now() - start) / 1000, 1e-3);
    const rate = done / sec;
    const eta = rate > 0 ? Math.max(total - done, 0) / rate : Number.POSITIVE_INFINITY;
    const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "?";
    process.stderr.write(
      `${label}: ${fmt(done)}/${fmt(total)} ${unit} (${pct}%) | ${(rate / scale).toFixed(1)} ${unit}/s | ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "?"}\n`,
    );
  };
  return {
    update(done) {
      latest = done;
      if (Date.now() - last >= (opts.logEverySec ?? 10) * 1000) {
        last = Date.now();
        line(done);
      }
    },
    stop() {
      if (printed !== undefined && latest !== undefined && latest !== printed) line(latest);
    },
  };
}
