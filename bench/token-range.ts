// The trainer's token-id check before training: IndexedDataset.tokenRange (the .bin read in 16 MiB
// blocks) against the per-document way it replaced (get(i) for every sequence, one allocation each),
// on the same generated uint16 dataset in the same run (warm page cache for both).
// Run: pnpm --filter @biomed-llama/tokenizer build && pnpm tsx bench/token-range.ts [--mb 512]
// Writes bench/results/token-range.json.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { IndexedDataset, IndexedDatasetWriter } from "../packages/tokenizer/dist/index.js";
import { writeResult } from "./write-result.js";

const i = process.argv.indexOf("--mb");
const mb = i >= 0 ? Number(process.argv[i + 1]) : 512;
const dir = mkdtempSync(join(tmpdir(), "token-range-"));
try {
  const prefix = join(dir, "data");
  const w = new IndexedDatasetWriter(prefix, { dtype: "uint16" });
  const doc = Uint16Array.from({ length: 600 }, (_, k) => (k * 7919) % 32000);
  const docs = Math.floor((mb * 2 ** 20) / (2 * doc.length));
  for (let d = 0; d < docs; d++) w.addDocument(doc);
  await w.finalize();
  const ds = IndexedDataset.open(prefix, { wholeFileBytes: 0 });
  const bytes = ds.totalTokens * 2;
  const time = (f: () => unknown) => {
    const t0 = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const perDocument = () => {
    let max = -1;
    for (let s = 0; s < ds.numSequences; s++) for (const v of ds.get(s)) if (v > max) max = v;
    return max;
  };
  time(() => ds.tokenRange()); // warm the page cache
  const rows = [];
  for (let r = 0; r < 3; r++)
    rows.push({ tokenRangeS: time(() => ds.tokenRange()), perDocumentS: time(perDocument) });
  ds.close();
  const best = (k: "tokenRangeS" | "perDocumentS") => Math.min(...rows.map((x) => x[k]));
  const result = {
    bench: "token-range",
    what: "largest token id of a uint16 Megatron dataset: tokenRange vs get(i) per document (baseline)",
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model,
    bytes,
    documents: docs,
    rounds: rows,
    tokenRangeGBps: bytes / best("tokenRangeS") / 1e9,
    perDocumentGBps: bytes / best("perDocumentS") / 1e9,
    speedup: best("perDocumentS") / best("tokenRangeS"),
  };
  process.stderr.write(`wrote ${writeResult("token-range", result)}\n${JSON.stringify(result)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
