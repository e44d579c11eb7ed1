// PileReader throughput (decompress + split + parse + filter) against `zstd -dc FILE | wc -l` on the
// same Pile-format file, both measured in this run. The bar: reader >= 0.8 x baseline.
// Run: pnpm --filter @biomed-llama/pile-reader --filter @biomed-llama/seeded-random build && pnpm tsx bench/pile-reader-throughput.ts [--mb 200] [--reps 3]
// Writes bench/results/pile-reader.json. The input file is generated (from the bundled sample's
// real abstracts' words, in The Pile's subset mix and JSON style) into a temp dir and deleted.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// mulberry32 (from @biomed-llama/seeded-random, a workspace dependency of bench/): a seeded generator
// with a long period (an LCG here would repeat and make the file unrealistically compressible).
import { mulberry32 } from "@biomed-llama/seeded-random";
// bench/ is not a workspace dependent of the package, so it loads the built entry by path.
import { PileReader, type PileReaderOptions } from "../packages/pile-reader/dist/index.js";
import { writeResult } from "./write-result.js";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const targetMb = arg("mb", 200);
const reps = arg("reps", 3);

// The Pile's subsets with their approximate share of its bytes (Gao et al. 2020, table 1).
const MIX: [string, number][] = [
  ["Pile-CC", 18.1],
  ["PubMed Central", 14.4],
  ["Books3", 12.07],
  ["OpenWebText2", 10.01],
  ["ArXiv", 8.96],
  ["Github", 7.59],
  ["FreeLaw", 6.12],
  ["StackExchange", 5.13],
  ["USPTO Backgrounds", 3.65],
  ["PubMed Abstracts", 3.07],
  ["Gutenberg (PG-19)", 2.17],
  ["Wikipedia (en)", 1.53],
  ["Other", 7.2],
];
// Typical document sizes in bytes (PMC papers and books are long, abstracts short).
const DOC_BYTES: Record<string, number> = {
  "PubMed Central": 30_000,
  Books3: 200_000,
  ArXiv: 45_000,
  "PubMed Abstracts": 1_300,
  "Gutenberg (PG-19)": 150_000,
  FreeLaw: 15_000,
};

// Python's json.dumps (ensure_ascii=True), which wrote The Pile: non-ASCII becomes \uXXXX.
function pyJson(s: string): string {
  return JSON.stringify(s).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function makeFile(dir: string): { path: string; uncompressed: number; lines: number } {
  const sample = join(here, "..", "examples", "pile-sample", "pile-sample.jsonl.zst");
  // Words of the sample's real abstracts with their frequencies; documents are drawn from them word
  // by word, which compresses about as well as real English text does.
  const words = execFileSync("zstd", ["-dc", "--long=31", sample], { encoding: "utf8", maxBuffer: 1 << 26 })
    .trimEnd()
    .split("\n")
    .flatMap((l) => (JSON.parse(l).text as string).split(/\s+/))
    .filter((w) => w.length > 0);
  const total = MIX.reduce((s, [, w]) => s + w, 0);
  const rand = mulberry32(12345);
  const pick = () => {
    let r = rand() * total;
    for (const [name, w] of MIX) {
      r -= w;
      if (r <= 0) return name;
    }
    return MIX[0][0];
  };
  const jsonl = join(dir, "bench.jsonl");
  const chunks: string[] = [];
  let bytes = 0;
  let lines = 0;
  let written = 0;
  while (written + bytes < targetMb * 1e6) {
    const set = pick();
    const mean = DOC_BYTES[set] ?? 4_000;
    const len = Math.max(200, Math.round(mean * (0.2 + 1.6 * rand())));
    const parts: string[] = [];
    let n = 0;
    while (n < len) {
      const w = words[Math.floor(rand() * words.length)];
      const sep = rand() < 0.01 ? "\n\n" : " ";
      parts.push(w, sep);
      n += w.length + sep.length;
    }
    const line = `{"text": ${pyJson(parts.join(""))}, "meta": {"pile_set_name": ${pyJson(set)}}}\n`;
    chunks.push(line);
    bytes += line.length;
    lines++;
    if (bytes > 16e6) {
      writeFileSync(jsonl, chunks.join(""), { flag: written ? "a" : "w" });
      written += bytes;
      bytes = 0;
      chunks.length = 0;
    }
  }
  writeFileSync(jsonl, chunks.join(""), { flag: written ? "a" : "w" });
  written += bytes;
  const zst = `${jsonl}.zst`;
  execFileSync("zstd", ["-q", "-3", "-f", jsonl, "-o", zst]);
  rmSync(jsonl);
  return { path: zst, uncompressed: written, lines };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// CPU seconds are reported beside wall seconds because the machine is shared: under load a
// two-process pipeline and a one-thread reader get different shares of the cores.
function timeBaseline(path: string): { seconds: number; cpuSeconds: number; lines: number } {
  const t0 = performance.now();
  // bash's `times` prints the children's user and system time on its second line.
  const out = execFileSync("bash", ["-c", `zstd -dc "$1" | wc -l; times`, "bench", path], {
    encoding: "utf8",
  });
  const seconds = (performance.now() - t0) / 1000;
  const [count, , children] = out.trim().split("\n");
  const cpuSeconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (s, m) => s + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return { seconds, cpuSeconds, lines: Number(count.trim()) };
}

// CPU seconds of the main thread alone (Linux /proc; Node 20 has no per-thread API). With a decoder
// thread, max(main, rest) is the time the reader would take given a free core per thread.
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function timeReader(
  opts: PileReaderOptions,
): Promise<{ seconds: number; cpuSeconds: number; mainCpuSeconds: number; docs: number }> {
  const t0 = performance.now();
  const m0 = mainThreadCpu();
  const c0 = process.cpuUsage();
  const reader = new PileReader(opts);
  let docs = 0;
  let chars = 0;
  for await (const d of reader) {
    docs++;
    chars += d.text.length;
  }
  if (chars < 0) throw new Error("unreachable");
  const c = process.cpuUsage(c0);
  const mainCpuSeconds = mainThreadCpu() - m0;
  return {
    seconds: (performance.now() - t0) / 1000,
    cpuSeconds: (c.user + c.system) / 1e6,
    mainCpuSeconds,
    docs,
  };
}

const dir = mkdtempSync(join(tmpdir(), "pile-bench-"));
try {
  const file = makeFile(dir);
  const compressed = statSync(file.path).size;
  const mb = file.uncompressed / 1e6;
  console.error(
    `bench file: ${mb.toFixed(1)} MB uncompressed, ${(compressed / 1e6).toFixed(1)} MB .zst, ${file.lines} lines`,
  );

  const base: number[] = [];
  const pubmed: number[] = [];
  const all: number[] = [];
  const inline: number[] = [];
  const inlineCpu: number[] = [];
  const baseCpu: number[] = [];
  const pubmedCpu: number[] = [];
  const pubmedMainCpu: number[] = [];
  const allCpu: number[] = [];
  let pubmedDocs = 0;
  for (let r = 0; r < reps; r++) {
    const b = timeBaseline(file.path);
    if (b.lines !== file.lines)
      throw new Error(`zstd | wc -l counted ${b.lines} lines, expected ${file.lines}`);
    base.push(b.seconds);
    baseCpu.push(b.cpuSeconds);
    const p = await timeReader({ inputs: file.path });
    pubmed.push(p.seconds);
    pubmedCpu.push(p.cpuSeconds);
    pubmedMainCpu.push(p.mainCpuSeconds);
    pubmedDocs = p.docs;
    const q = await timeReader({ inputs: file.path, decodeInThread: false });
    inline.push(q.seconds);
    inlineCpu.push(q.cpuSeconds);
    const a = await timeReader({ inputs: file.path, subsets: "all" });
    if (a.docs !== file.lines) throw new Error(`reader saw ${a.docs} docs, expected ${file.lines}`);
    all.push(a.seconds);
    allCpu.push(a.cpuSeconds);
    console.error(
      `rep ${r}: zstd|wc ${b.seconds.toFixed(2)}s (cpu ${b.cpuSeconds.toFixed(2)})  reader(PubMed) ${p.seconds.toFixed(2)}s (cpu ${p.cpuSeconds.toFixed(2)})  inline ${q.seconds.toFixed(2)}s (cpu ${q.cpuSeconds.toFixed(2)})  reader(all) ${a.seconds.toFixed(2)}s (cpu ${a.cpuSeconds.toFixed(2)})`,
    );
  }
  const mbps = (s: number) => Number((mb / s).toFixed(1));
  const result = {
    bench: "pile-reader-throughput",
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    note: "MB = 1e6 uncompressed bytes; median of reps; the machine is shared, so absolute numbers are noisy (see loadAverage). The baseline is two processes (zstd and wc run concurrently); the reader decodes in a worker thread and splits/parses on the main thread. cpuSeconds: user+system of the baseline's children / of the reader's process (all threads).",
    file: {
      uncompressedMB: Number(mb.toFixed(1)),
      compressedMB: Number((compressed / 1e6).toFixed(1)),
      lines: file.lines,
      pubmedDocs,
      zstdLevel: 3,
    },
    reps,
    loadAverage: loadavg(),
    baseline: {
      command: "zstd -dc FILE | wc -l",
      seconds: base,
      cpuSeconds: baseCpu,
      mbPerSec: mbps(median(base)),
      mbPerCpuSec: mbps(median(baseCpu)),
    },
    readerPubMed: {
      what: "PileReader default subsets (PubMed Abstracts + PubMed Central): decompress (in a decoder thread, the default for files >= 8 MiB), split, filter, parse kept lines",
      seconds: pubmed,
      cpuSeconds: pubmedCpu,
      mbPerSec: mbps(median(pubmed)),
      mbPerCpuSec: mbps(median(pubmedCpu)),
      ratioToBaseline: Number((median(base) / median(pubmed)).toFixed(3)),
      cpuRatioToBaseline: Number((median(baseCpu) / median(pubmedCpu)).toFixed(3)),
      mainThreadCpuSeconds: pubmedMainCpu,
      // Baseline on idle cores ~ its zstd CPU time (wc runs beside it); the reader ~ its busier thread.
      idleCoresRatioEstimate: Number(
        (median(baseCpu) / median(pubmedMainCpu.map((m, i) => Math.max(m, pubmedCpu[i] - m)))).toFixed(3),
      ),
    },
    readerPubMedInline: {
      what: "as readerPubMed, but libzstd on the reader's thread (decodeInThread: false)",
      seconds: inline,
      cpuSeconds: inlineCpu,
      mbPerSec: mbps(median(inline)),
      mbPerCpuSec: mbps(median(inlineCpu)),
      ratioToBaseline: Number((median(base) / median(inline)).toFixed(3)),
      cpuRatioToBaseline: Number((median(baseCpu) / median(inlineCpu)).toFixed(3)),
    },
    readerAll: {
      what: "PileReader subsets 'all': decompress, split, parse and validate every line",
      seconds: all,
      cpuSeconds: allCpu,
      mbPerSec: mbps(median(all)),
      mbPerCpuSec: mbps(median(allCpu)),
      ratioToBaseline: Number((median(base) / median(all)).toFixed(3)),
      cpuRatioToBaseline: Number((median(baseCpu) / median(allCpu)).toFixed(3)),
    },
    target: { ratioToBaseline: 0.8 },
  };
  writeResult("pile-reader", result);
  console.log(JSON.stringify(result, null, 2));
} finally {
  // PILE_BENCH_KEEP=1 keeps the generated file for profiling.
  if (process.env.PILE_BENCH_KEEP) console.error(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
