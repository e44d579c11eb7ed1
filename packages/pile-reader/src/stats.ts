/** Running counts of a read. `bytes` are UTF-8 bytes of `text`, the unit The Pile's paper reports. */
export interface PileStats {
  docs: number;
  bytes: number;
  subsets: Record<string, { docs: number; bytes: number }>;
  /** Lines this reader consumed (all ranks' lines in `line` split mode). */
  linesRead: number;
  skipped: {
    /** Lines dropped with `onBadLine: "skip"`, and the first such error message. */
    badLines: number;
    firstBadLine: string | null;
    blankLines: number;
    /** Lines belonging to other ranks (`splitBy: "line"`). */
    otherRanks: number;
    /** Documents of subsets not asked for, by `pile_set_name`. */
    otherSubsets: Record<string, number>;
  };
}

export function emptyStats(): PileStats {
  return {
    docs: 0,
    bytes: 0,
    subsets: {},
    linesRead: 0,
    skipped: { badLines: 0, firstBadLine: null, blankLines: 0, otherRanks: 0, otherSubsets: {} },
  };
}

export function recordDoc(stats: PileStats, subset: string, text: string): void {
  const bytes = Buffer.byteLength(text, "utf8");
  stats.subsets[subset] ??= { docs: 0, bytes: 0 };
  const s = stats.subsets[subset];
  s.docs++;
  s.bytes += bytes;
  stats.docs++;
  stats.bytes += bytes;
}
