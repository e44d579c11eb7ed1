import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * Requests scored with rate and ETA: a live bar on a TTY, plain log lines (at most one every
 * `logEverySec`) otherwise, so logs of batch jobs stay readable. Rate counts only requests the
 * model scored in this run (cache hits would inflate it), and the ETA follows from that rate.
 */
export function createProgress(label: string, opts: { logEverySec?: number; docs?: number } = {}): Progress {
  const start = Date.now();
  let base = -1;
  let bar: cliProgress.SingleBar | undefined;
  let last = 0;
  const stats = (done: number, total: number) => {
    if (base < 0) base = done;
    const sec = Math.max((Date.now() - start) / 1000, 1e-3);
    const rate = (done - base) / sec;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    return { rate, eta };
  };
  // Documents have several requests each (one per option); their rate is the request rate scaled.
  const docRate = (rate: number, total: number) =>
    opts.docs && total > 0 ? ` | ${((rate * opts.docs) / total).toFixed(2)} docs/s` : "";
  const etaText = (eta: number) => (Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "?");
  return {
    update(done, total) {
      const { rate, eta } = stats(done, total);
      if (process.stderr.isTTY) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format: `${label} [{bar}] {percentage}% | {value}/{total} requests | {rate} req/s{docRate} | ETA {etaText}`,
              stream: process.stderr,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done, { rate: "0.0", etaText: "?", docRate: "" });
        }
        bar.setTotal(total);
        bar.update(done, { rate: rate.toFixed(1), etaText: etaText(eta), docRate: docRate(rate, total) });
        return;
      }
      if (done === total || Date.now() - last >= (opts.logEverySec ?? 10) * 1000) {
        last = Date.now();
        const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "100.0";
        process.stderr.write(
          `${label}: ${done}/${total} requests (${pct}%) | ${rate.toFixed(1)} req/s${docRate(rate, total)} | ETA ${etaText(eta)}\n`,
        );
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

export interface ByteProgress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * Bytes read out of a total (loading a checkpoint) with rate and ETA: a live bar on a TTY, plain log
 * lines otherwise — the first at once, then at most one every `logEverySec`, and the last at 100%.
 */
export function createByteProgress(label: string, opts: { logEverySec?: number } = {}): ByteProgress {
  const start = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  let last = -1;
  let finished = false;
  const gb = (n: number) => (n / 1e9).toFixed(2);
  const stats = (done: number, total: number) => {
    const sec = Math.max((Date.now() - start) / 1000, 1e-3);
    const rate = done / sec;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    return {
      rate: `${(rate / 1e6).toFixed(0)} MB/s`,
      eta: Number.isFinite(eta) ? `${eta.toFixed(0)}s` : "?",
    };
  };
  return {
    update(done, total) {
      const { rate, eta } = stats(done, total);
      if (process.stderr.isTTY) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              format: `${label} [{bar}] {percentage}% | {doneGB}/{totalGB} GB | {rate} | ETA {etaText}`,
              stream: process.stderr,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done, { doneGB: gb(done), totalGB: gb(total), rate, etaText: eta });
        }
        bar.setTotal(total);
        bar.update(done, { doneGB: gb(done), totalGB: gb(total), rate, etaText: eta });
        return;
      }
      const end = done >= total;
      if ((end && !finished) || last < 0 || Date.now() - last >= (opts.logEverySec ?? 5) * 1000) {
        last = Date.now();
        finished ||= end;
        const pct = total > 0 ? ((100 * done) / total).toFixed(1) : "100.0";
        process.stderr.write(`${label}: ${gb(done)}/${gb(total)} GB (${pct}%) | ${rate} | ETA ${eta}\n`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}
