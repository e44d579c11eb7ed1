// Tokenizer throughput (tokens/s) on the same text: our WASM SentencePiece (in-thread, and the
// worker pool with 1..N workers) against Debian's C++ `spm_encode`, measured in the same run.
// Run: pnpm --filter @biomed-llama/tokenizer build && pnpm tsx bench/tokenizer-throughput.ts [--mb 8] [--text FILE]
// Text: one document per line (--text FILE), or distinct PubMedQA/MedMCQA/MedQA documents up to --mb.
// Writes bench/results/tokenizer.json.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import {
  defaultTokenizerModelPath,
  LlamaTokenizer,
  tokenizeDocuments,
} from "../packages/tokenizer/dist/index.js";
import { writeResult } from "./write-result.js";

const argv = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const targetMb = Number(argv("mb") ?? 8);
const model = defaultTokenizerModelPath();

// Distinct documents only (no repetition, which would flatter the chunk cache): PubMedQA contexts,
// MedMCQA explanations and MedQA questions from /work/shared/data (this machine), up to --mb.
function loadText(): string[] {
  const file = argv("text");
  let docs: string[];
  if (file) docs = readFileSync(file, "utf8").split("\n").filter(Boolean);
  else {
    const data = "/work/shared/data";
    const pqal = JSON.parse(readFileSync(`${data}/pubmedqa/ori_pqal.json`, "utf8"));
    const jsonl = (f: string) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    docs = [
      ...Object.values(pqal).map((r: any) => (r.CONTEXTS as string[]).join(" ")),
      ...jsonl(`${data}/medmcqa/dev.json`).map((r) => r.exp as string | null),
      ...jsonl(`${data}/medqa/test.jsonl`).map((r) => r.question as string),
    ]
      .filter((d): d is string => typeof d === "string" && d.trim().length > 0)
      .map((d) => d.replace(/[\r\n]+/g, " "));
  }
  const out: string[] = [];
  let bytes = 0;
  for (const d of docs) {
    if (bytes >= targetMb * 1e6) break;
    out.push(d);
    bytes += Buffer.byteLength(d) + 1;
  }
  return out;
}

const docs = loadText();
const bytes = docs.reduce((a, d) => a + Buffer.byteLength(d) + 1, 0);
const dir = mkdtempSync(join(tmpdir(), "tok-bench-"));
const textFile = join(dir, "docs.txt");
writeFileSync(textFile, `${docs.join("\n")}\n`);

let cppIds: string[] = [];
function cpp(): { seconds: number; tokens: number; version: string } | null {
  const probe = spawnSync("spm_encode", ["--version"], { encoding: "utf8" });
  if (probe.error) return null;
  const runOnce = () => {
    const t0 = process.hrtime.bigint();
    const out = execFileSync(
      "spm_encode",
      [`--model=${model}`, "--output_format=id", `--input=${textFile}`],
      {
        maxBuffer: 1 << 30,
        encoding: "utf8",
      },
    );
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    let tokens = 0;
    cppIds = out.split("\n").slice(0, docs.length);
    for (const line of cppIds) if (line) tokens += line.split(" ").length;
    return { seconds, tokens };
  };
  runOnce(); // warm the page cache
  const runs = [runOnce(), runOnce()];
  const best = runs.reduce((a, b) => (a.seconds < b.seconds ? a : b));
  return { ...best, version: (probe.stdout || probe.stderr).trim() };
}

// Every document's ids must equal spm_encode's, or the speed means nothing.
let mismatches = 0;
function check(i: number, ids: ArrayLike<number>): void {
  if (cppIds.length && Array.from(ids).join(" ") !== cppIds[i]) mismatches++;
}

// Model load in the calling thread plus worker start, for one tiny document: reported apart so the
// steady-state rate of the pool is visible on a corpus this small.
async function startup(workers: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for await (const _ of tokenizeDocuments(["a"], { workers, modelPath: model })) {
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function ours(workers: number): Promise<{ seconds: number; tokens: number }> {
  const t0 = process.hrtime.bigint();
  let tokens = 0;
  const got: Int32Array[] = [];
  for await (const ids of tokenizeDocuments(docs, { workers, modelPath: model })) {
    tokens += ids.length;
    got.push(ids);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (let i = 0; i < got.length; i++) check(i, got[i]);
  return { seconds, tokens };
}

async function inThreadEncodeOnly(engine: "js" | "wasm"): Promise<{ seconds: number; tokens: number }> {
  const tok = await LlamaTokenizer.load(model, { engine });
  const t0 = process.hrtime.bigint();
  let tokens = 0;
  const got: number[][] = [];
  for (const d of docs) {
    const ids = tok.encode(d);
    tokens += ids.length;
    got.push(ids);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (let i = 0; i < got.length; i++) check(i, got[i]);
  return { seconds, tokens };
}

const rate = (r: { seconds: number; tokens: number }) => r.tokens / r.seconds;
const base = cpp();
const results: Record<string, unknown> = {};
const cores = availableParallelism();
for (const engine of ["wasm", "js"] as const) {
  const r = await inThreadEncodeOnly(engine);
  results[`${engine} engine in-thread, encode() only`] = {
    ...r,
    tokensPerSecond: rate(r),
    ratioToCppSingleThread: base ? rate(r) / rate(base) : null,
  };
}
for (const workers of [0, ...Array.from({ length: Math.min(cores, 4) }, (_, i) => i + 1)]) {
  const r = await ours(workers);
  const startupSeconds = await startup(workers);
  const steady = { seconds: Math.max(r.seconds - startupSeconds, 1e-9), tokens: r.tokens };
  results[`tokenizeDocuments workers=${workers}`] = {
    ...r,
    tokensPerSecond: rate(r),
    startupSeconds,
    tokensPerSecondExcludingStartup: rate(steady),
    ratioPerWorkerToCppExcludingStartup: base && workers > 0 ? rate(steady) / workers / rate(base) : null,
    ratioToCppSingleThread: base ? rate(r) / rate(base) : null,
    ratioPerWorkerToCpp: base && workers > 0 ? rate(r) / workers / rate(base) : null,
  };
  if (base && r.tokens !== base.tokens)
    throw new Error(`token count differs from spm_encode: ${r.tokens} vs ${base.tokens}`);
}
const report = {
  bench: "tokenizer-throughput",
  date: new Date().toISOString(),
  machine: { cores, node: process.version },
  text: {
    docs: docs.length,
    bytes,
    source: argv("text") ?? "PubMedQA contexts + MedMCQA explanations + MedQA questions, each once",
  },
  model: "LLaMA-1/2 tokenizer.model (bundled)",
  baseline: base
    ? {
        tool: `Debian spm_encode (C++ SentencePiece, 1 thread) ${base.version}`,
        ...base,
        tokensPerSecond: rate(base),
        includesProcessStartAndModelLoad: true,
      }
    : null,
  ours: results,
  idsEqualToSpmEncode: base ? mismatches === 0 : null,
  documentsWithDifferentIds: base ? mismatches : null,
  note: "tokenizeDocuments uses the default engine (TypeScript BPE with a chunk cache for LLaMA). Worker runs include thread start and per-worker model load; this machine's 2 cores are shared with other jobs, so multi-worker numbers are noisy.",
};
const out = writeResult("tokenizer", report);
console.log(JSON.stringify(report, null, 2));
if (!existsSync(out)) process.exit(1);
