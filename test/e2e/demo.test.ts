// The README's demo, shortened (6 steps, 5 items per eval task) and on two ranks through
// `biomed-llama launch --nproc-per-node 2`: every artefact it announces must exist and parse as the
// format it claims to be.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";

const repoRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
let work: string;
let out: string;
let log: string;

function head(path: string, n: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(n);
    readSync(fd, buf, 0, n, 0);
    return buf;
  } finally {
    closeSync(fd);
  }
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "biomed-demo-"));
  out = join(work, "out");
  const cfg = JSON.parse(readFileSync(join(repoRoot, "configs/tiny-cpu.json"), "utf8"));
  Object.assign(cfg, { max_steps: 6, warmup_steps: 2, save_interval: 3 });
  writeFileSync(join(work, "short.json"), JSON.stringify(cfg));
  log = execFileSync("bash", [join(repoRoot, "scripts/demo.sh"), out], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, NPROC: "2", DEMO_CONFIG: join(work, "short.json"), DEMO_LIMIT: "5" },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 900_000,
  });
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test("the demo lists every artefact", () => {
  for (const what of ["extracted shards", "token dataset", "final checkpoint", "eval results", "run report"])
    expect(log).toContain(what);
});

test("extract wrote per-subset zstd shards and a manifest", () => {
  const manifest = JSON.parse(readFileSync(join(out, "extract/manifest.json"), "utf8"));
  expect(JSON.stringify(manifest)).toContain("PubMed Abstracts");
  const shards = readdirSync(join(out, "extract")).filter((f) => f.endsWith(".jsonl.zst"));
  expect(shards.length).toBeGreaterThanOrEqual(2);
  // zstd frame magic 0xFD2FB528, little endian
  for (const s of shards) expect(head(join(out, "extract", s), 4).readUInt32LE(0)).toBe(0xfd2fb528);
});

test("tokenize wrote a Megatron MMIDIDX dataset", () => {
  const idx = head(join(out, "tokens/pubmed.idx"), 9);
  expect(idx.toString("latin1")).toBe("MMIDIDX\0\0");
  const stats = JSON.parse(readFileSync(join(out, "tokens/pubmed.stats.json"), "utf8"));
  expect(JSON.stringify(stats)).toMatch(/tokens/);
});

test("pretraining on two ranks logged falling loss and wrote HF checkpoints", () => {
  const lines = readFileSync(join(out, "run/metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const steps = lines.filter((l) => "loss" in l);
  expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(steps[5].loss).toBeLessThan(steps[0].loss);
  const ckpts = readdirSync(join(out, "run/checkpoints")).filter((d) => d.startsWith("step-"));
  expect(ckpts).toContain("step-00000006");
  const ckpt = join(out, "run/checkpoints/step-00000006");
  const config = JSON.parse(readFileSync(join(ckpt, "config.json"), "utf8"));
  expect(config.architectures).toEqual(["LlamaForCausalLM"]);
  // safetensors: u64 header length, then a JSON header naming HF parameters
  const st = readdirSync(ckpt).find((f) => f.endsWith(".safetensors"))!;
  const len = Number(head(join(ckpt, st), 8).readBigUInt64LE(0));
  const header = JSON.parse(
    head(join(ckpt, st), 8 + len)
      .subarray(8)
      .toString("utf8"),
  );
  expect(Object.keys(header)).toContain("model.layers.0.self_attn.q_proj.weight");
  const manifest = JSON.parse(readFileSync(join(ckpt, "manifest.json"), "utf8"));
  expect(JSON.stringify(manifest)).toMatch(/2/);
});

test("evaluation wrote lm-eval style results for all four tasks", () => {
  const results = JSON.parse(readFileSync(join(out, "run/eval/results.json"), "utf8"));
  for (const task of ["pubmedqa", "medqa_4options", "medmcqa"]) {
    const acc = results.results[task]["acc,none"];
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(acc).toBeLessThanOrEqual(1);
  }
  expect(results.results.pile_pubmed_abstracts["word_perplexity,none"]).toBeGreaterThan(1);
});

test("plot and report", () => {
  expect(readFileSync(join(out, "run/loss.svg"), "utf8")).toMatch(/<svg/);
  expect(head(join(out, "run/loss.png"), 8).toString("latin1")).toBe("\x89PNG\r\n\x1a\n");
  const html = readFileSync(join(out, "run/report.html"), "utf8");
  expect(html).toContain('<table id="eval">');
  expect(html).toContain("medqa_4options");
});

test("the demo replaces only an earlier demo's output, never a directory of the user's", () => {
  const mine = join(work, "mine");
  execFileSync("mkdir", ["-p", join(mine, "sub")]);
  writeFileSync(join(mine, "notes.txt"), "keep");
  let status = 0;
  let stderr = "";
  try {
    execFileSync("bash", [join(repoRoot, "scripts/demo.sh"), mine], { cwd: repoRoot, stdio: "pipe" });
  } catch (e) {
    status = (e as { status: number }).status;
    stderr = String((e as { stderr: Buffer }).stderr);
  }
  expect(status).toBe(1);
  expect(stderr.trim()).toBe(
    `demo: ${mine} exists and is not the output of an earlier demo; pick another OUT_DIR`,
  );
  expect(readdirSync(mine).sort()).toEqual(["notes.txt", "sub"]);
  expect(readdirSync(out)).toContain(".biomed-llama-demo");
});
