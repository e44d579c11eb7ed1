import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A document as written into a test shard, with the 1-based line it sits on. */
export interface TestDoc {
  text: string;
  meta: { pile_set_name: string; [k: string]: unknown };
}

export const SUBSET_CYCLE = ["PubMed Abstracts", "Github", "PubMed Central", "Pile-CC", "Wikipedia (en)"];

// Text that exercises UTF-8 of every length (2, 3 and 4 bytes), JSON escapes and newlines.
const PIECES = [
  "Aspirin 100 mg",
  "β-blocker",
  "α₁-antitrypsin",
  "腫瘍 壊死因子",
  "🧬🦠",
  'quote " and \\',
  "line\nbreak",
  "\ttab",
];

export function makeDocs(n: number, seed = 1): TestDoc[] {
  const docs: TestDoc[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const words: string[] = [];
    for (let w = 0; w < 5 + (s % 40); w++) words.push(PIECES[(s + w * 7) % PIECES.length]);
    docs.push({
      text: `doc ${i}: ${words.join(" ")}`,
      meta: { pile_set_name: SUBSET_CYCLE[i % SUBSET_CYCLE.length] },
    });
  }
  return docs;
}

/** Serialised the way The Pile's own files are (Python's json.dumps spacing). */
export function toJsonl(docs: TestDoc[]): string {
  return docs
    .map(
      (d) =>
        `{"text": ${JSON.stringify(d.text)}, "meta": {"pile_set_name": ${JSON.stringify(d.meta.pile_set_name)}}}\n`,
    )
    .join("");
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "pile-reader-test-"));
}

export function writeJsonl(path: string, docs: TestDoc[]): string {
  writeFileSync(path, toJsonl(docs));
  return path;
}

/** Compress with the reference `zstd` CLI; `stdin` leaves the frame without a content size. */
export function zstdCli(
  src: string,
  dst: string,
  args: string[] = [],
  opts: { stdin?: boolean } = {},
): string {
  if (opts.stdin) execFileSync("sh", ["-c", `zstd -q -c ${args.join(" ")} < "${src}" > "${dst}"`]);
  else execFileSync("zstd", ["-q", "-f", ...args, src, "-o", dst]);
  return dst;
}

export function zstdList(path: string): string {
  return execFileSync("zstd", ["-lv", path], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}
