#!/usr/bin/env node
// Builds the bundled demo shards in this directory from PubMedQA's PQA-L file (real PubMed
// abstracts, MIT) plus a few distractor documents, in The Pile's format, compressed the way
// large Pile-style shards often are: several zstd frames, --long=31 (2 GiB window), no content size.
//
//   node examples/pile-sample/make-sample.mjs [path/to/ori_pqal.json]
//
// Needs the `zstd` command. Output is deterministic for a given input and zstd version.
import { execFileSync } from "node:child_process";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const source = process.argv[2] ?? "/work/shared/data/pubmedqa/ori_pqal.json";
const testSplit = join(dirname(source), "test_ground_truth.json");

const pqal = JSON.parse(readFileSync(source, "utf8"));
// PubMedQA's official 500-item test split is an evaluation set: none of its abstracts go into
// either shard, so a demo that evaluates on PubMedQA test is not contaminated by this sample.
const heldOutOfEverything = new Set(Object.keys(JSON.parse(readFileSync(testSplit, "utf8"))));
const pmids = Object.keys(pqal)
  .filter((id) => !heldOutOfEverything.has(id))
  .sort((a, b) => Number(a) - Number(b));

// A small seeded shuffle (mulberry32) so the order mixes subsets but never changes between runs.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffle(list, seed) {
  const r = rng(seed);
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const order = shuffle(pmids, 20230601);
const take = (n) => order.splice(0, n);

// "PubMed Abstracts": the abstract's sections as paragraphs, then its conclusion.
function abstractDoc(id) {
  const r = pqal[id];
  return { text: [...r.CONTEXTS, r.LONG_ANSWER].join("\n"), meta: { pile_set_name: "PubMed Abstracts" } };
}

// "PubMed Central"-style: longer, sectioned full-text-like documents. Built from three related
// PQA-L records each (real sentences, headings added here); they are not actual PMC articles.
function centralDoc(ids) {
  const parts = [`${pqal[ids[0]].QUESTION}`, ""];
  ids.forEach((id, k) => {
    const r = pqal[id];
    parts.push(`${k + 1}. ${r.QUESTION}`, "");
    r.CONTEXTS.forEach((c, i) => {
      const label = (r.LABELS[i] ?? "TEXT").toLowerCase();
      parts.push(`${label[0].toUpperCase()}${label.slice(1)}`, c, "");
    });
    parts.push("Conclusions", r.LONG_ANSWER, "");
    parts.push(`Keywords: ${r.MESHES.join("; ")}`, "");
  });
  return { text: parts.join("\n").trimEnd(), meta: { pile_set_name: "PubMed Central" } };
}

// Distractors: other Pile subsets the reader must filter out. Written for this sample.
const WIKI = [
  "The Danube is the second-longest river in Europe, after the Volga. It rises in the Black Forest of Germany and flows generally eastward for about 2,850 kilometres, passing through or along the border of ten countries before emptying into the Black Sea through a wide delta in Romania and Ukraine.\n\nFor centuries the river served as a trade route and as a frontier. Several capital cities stand on its banks, among them Vienna, Bratislava, Budapest and Belgrade.",
  "A lighthouse is a tower built to emit light from a system of lamps and lenses, serving as a navigational aid for ships at sea or on inland waterways. Lighthouses mark dangerous coastlines, reefs and safe entries to harbours.\n\nThe Fresnel lens, introduced in the 1820s, concentrated the light of a single lamp into a beam visible for many kilometres and became the standard optic for more than a century.",
  "Chess is a board game for two players, played on a square board of 64 squares arranged in an eight-by-eight grid. Each player begins with sixteen pieces: one king, one queen, two rooks, two bishops, two knights and eight pawns. The object of the game is to checkmate the opponent's king.",
  "In mathematics, a prime number is a natural number greater than 1 that has no positive divisors other than 1 and itself. The first primes are 2, 3, 5, 7, 11 and 13. Euclid proved that there are infinitely many primes: given any finite list of primes, multiplying them together and adding one yields a number that none of them divides.",
  "Tea is an aromatic beverage prepared by pouring hot or boiling water over cured or fresh leaves of Camellia sinensis, an evergreen shrub native to East Asia. After water, it is one of the most widely consumed drinks in the world. Green, oolong and black teas differ mainly in how far the leaves are allowed to oxidise before drying.",
  "The Fibonacci sequence is the sequence of numbers in which each number is the sum of the two preceding ones, usually starting from 0 and 1: 0, 1, 1, 2, 3, 5, 8, 13, 21. The ratio of consecutive terms approaches the golden ratio, about 1.618.",
  "A glacier is a persistent body of dense ice that is constantly moving under its own weight. Glaciers form where the accumulation of snow exceeds its melting and sublimation over many years. They slowly deform and flow under stresses induced by their weight, creating crevasses and other distinguishing features.",
  "The violin is a wooden string instrument, the smallest and highest-pitched member of the violin family in regular use. It has four strings tuned in perfect fifths, G3, D4, A4 and E5, and is most commonly played by drawing a bow across its strings.",
];
const GITHUB = [
  'export function clamp(x: number, lo: number, hi: number): number {\n  if (lo > hi) throw new RangeError("empty range [" + lo + ", " + hi + "]");\n  return Math.min(hi, Math.max(lo, x));\n}\n',
  '#!/usr/bin/env bash\n# Count lines in every .jsonl.zst shard of a directory.\nset -euo pipefail\nfor f in "$1"/*.jsonl.zst; do\n  printf \'%s\\t%s\\n\' "$(zstd -dc --long=31 "$f" | wc -l)" "$f"\ndone\n',
  'def moving_average(xs, k):\n    """Mean of each window of k consecutive values."""\n    if k <= 0:\n        raise ValueError(\'k must be positive\')\n    out, s = [], 0.0\n    for i, x in enumerate(xs):\n        s += x\n        if i >= k:\n            s -= xs[i - k]\n        if i >= k - 1:\n            out.append(s / k)\n    return out\n',
  '{\n  "name": "tiny-server",\n  "version": "1.2.0",\n  "type": "module",\n  "scripts": { "start": "node server.js", "test": "node --test" }\n}\n',
  '#include <stdio.h>\n\nint main(void) {\n    unsigned long a = 0, b = 1;\n    for (int i = 0; i < 20; i++) {\n        printf("%lu\\n", a);\n        unsigned long t = a + b;\n        a = b;\n        b = t;\n    }\n    return 0;\n}\n',
];
const distractors = (wiki, code) => [
  ...wiki.map((text) => ({ text, meta: { pile_set_name: "Wikipedia (en)" } })),
  ...code.map((text) => ({ text, meta: { pile_set_name: "Github" } })),
];

const train = {
  abstracts: take(250),
  central: Array.from({ length: 12 }, () => take(3)),
};
const test = {
  abstracts: take(80),
  central: Array.from({ length: 4 }, () => take(3)),
};

const trainDocs = shuffle(
  [
    ...train.abstracts.map(abstractDoc),
    ...train.central.map(centralDoc),
    ...distractors(WIKI.slice(0, 6), GITHUB.slice(0, 4)),
  ],
  1,
);
const testDocs = shuffle(
  [
    ...test.abstracts.map(abstractDoc),
    ...test.central.map(centralDoc),
    ...distractors(WIKI.slice(6), GITHUB.slice(4)),
  ],
  2,
);

// Python's json.dumps spacing, as The Pile's own lines are written.
const line = (d) =>
  `{"text": ${JSON.stringify(d.text)}, "meta": {"pile_set_name": ${JSON.stringify(d.meta.pile_set_name)}}}\n`;

function writeShard(name, docs, frames) {
  const per = Math.ceil(docs.length / frames);
  const parts = [];
  for (let f = 0; f < frames; f++) {
    const chunk = docs
      .slice(f * per, (f + 1) * per)
      .map(line)
      .join("");
    // Compressing from stdin leaves the content size out of the frame header, as streamed
    // shards have; --long=31 declares a 2 GiB window, which decoders must be told to accept.
    parts.push(execFileSync("zstd", ["-q", "-19", "--long=31", "-c"], { input: chunk, maxBuffer: 1 << 28 }));
  }
  const path = join(here, name);
  writeFileSync(`${path}.tmp`, Buffer.concat(parts));
  renameSync(`${path}.tmp`, path);
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(line(d)), 0);
  console.log(`${name}: ${docs.length} docs, ${frames} frames, ${bytes} bytes uncompressed`);
}

writeShard("pile-sample.jsonl.zst", trainDocs, 3);
writeShard("pile-sample-test.jsonl.zst", testDocs, 2);
writeFileSync(
  join(here, "sources.json"),
  `${JSON.stringify(
    {
      source: "PubMedQA PQA-L (ori_pqal.json), https://github.com/pubmedqa/pubmedqa, MIT",
      excluded: "every PMID of PubMedQA's 500-item test split (test_ground_truth.json)",
      "pile-sample.jsonl.zst": { "PubMed Abstracts": train.abstracts, "PubMed Central": train.central },
      "pile-sample-test.jsonl.zst": { "PubMed Abstracts": test.abstracts, "PubMed Central": test.central },
    },
    null,
    1,
  )}\n`,
);
