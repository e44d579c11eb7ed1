import { createProgress, type Progress } from "@biomed-llama/progress";

/**
 * Requests scored, with rate and ETA. The rate counts only requests the model scored in this run
 * (cache hits would inflate it); documents have several requests each (one per option), so their
 * rate is the request rate scaled.
 */
export function requestProgress(label: string, opts: { docs?: number } = {}): Progress {
  return createProgress(label, {
    unit: "requests",
    rateFrom: "first-update",
    rateText: (s) =>
      `${s.rate.toFixed(1)} req/s${opts.docs && s.total > 0 ? ` | ${((s.rate * opts.docs) / s.total).toFixed(2)} docs/s` : ""}`,
  });
}

/** Bytes of a checkpoint read, in GB at MB/s, from the first byte on: loading a 7B model takes a while. */
export function loadProgress(label: string): Progress {
  return createProgress(label, {
    unit: "GB",
    scale: 1e9,
    digits: 2,
    logEverySec: 5,
    rateText: (s) => `${(s.rate / 1e6).toFixed(0)} MB/s`,
  });
}
