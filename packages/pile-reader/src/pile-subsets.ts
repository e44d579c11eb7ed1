import { PileError } from "./errors.js";

/**
 * The 22 components of The Pile, spelled as its `meta.pile_set_name` values (Gao et al. 2020,
 * table 1; the same strings the released shards carry).
 */
export const PILE_SUBSETS: readonly string[] = [
  "Pile-CC",
  "PubMed Central",
  "Books3",
  "OpenWebText2",
  "ArXiv",
  "Github",
  "FreeLaw",
  "StackExchange",
  "USPTO Backgrounds",
  "PubMed Abstracts",
  "Gutenberg (PG-19)",
  "OpenSubtitles",
  "Wikipedia (en)",
  "DM Mathematics",
  "Ubuntu IRC",
  "BookCorpus2",
  "EuroParl",
  "HackerNews",
  "YoutubeSubtitles",
  "PhilPapers",
  "NIH ExPorter",
  "Enron Emails",
];

/** A subset name that is not one of The Pile's: a typo would otherwise keep 0 documents and exit 0. */
export class PileSubsetError extends PileError {
  constructor(readonly subset: string) {
    const near = closest(subset);
    super(
      `unknown Pile subset ${JSON.stringify(subset)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; ` +
        `known: ${PILE_SUBSETS.map((s) => JSON.stringify(s)).join(", ")}, or "all"`,
    );
  }
}

/**
 * Checks subset names against The Pile's 22 before any work: `["all"]` (or `"all"`) means every
 * subset; anything else must be a known name. Returns what `PileReader`'s `subsets` option takes.
 */
export function checkPileSubsets(names: readonly string[] | "all"): readonly string[] | "all" {
  if (names === "all" || (names.length === 1 && names[0] === "all")) return "all";
  for (const name of names) if (!PILE_SUBSETS.includes(name)) throw new PileSubsetError(name);
  return [...new Set(names)];
}

/** The known name nearest to a typo (case-insensitive edit distance of at most 3), if any. */
function closest(name: string): string | undefined {
  let best: string | undefined;
  let bestDist = 4;
  for (const s of PILE_SUBSETS) {
    const d = editDistance(name.toLowerCase(), s.toLowerCase());
    if (d < bestDist) [best, bestDist] = [s, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
