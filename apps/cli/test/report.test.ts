// `biomed-llama report` on a small run directory, then the page is opened in a real headless
// Chromium (Debian's, installed by scripts/setup.sh): the charts must render as SVG with the run's
// data, and the tables must carry the run's numbers. A screenshot is kept in test-artifacts/.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";

const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const artifacts = fileURLToPath(new URL("../../../test-artifacts", import.meta.url));
const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

let run: string;

beforeAll(() => {
  run = mkdtempSync(join(tmpdir(), "biomed-report-"));
  const lines: string[] = [];
  for (let step = 1; step <= 30; step++) {
    lines.push(
      JSON.stringify({
        step,
        total_steps: 30,
        loss: 10 - step * 0.2,
        lr: 1e-3 * Math.min(1, step / 3),
        grad_norm: 1.5,
        step_tokens: 4096,
        tokens_seen: 4096 * step,
        tokens_per_s: 2000 + step,
        mfu: 0.01,
        mem_bytes: 2 ** 30,
        elapsed_s: step,
        eta_s: 30 - step,
        skipped: false,
      }),
    );
  }
  lines.push(JSON.stringify({ step: 30, eval_loss: 4.25, eval_tokens: 1000 }));
  writeFileSync(join(run, "metrics.jsonl"), `${lines.join("\n")}\n`);
  writeFileSync(join(run, "config.json"), JSON.stringify({ seq_len: 128, lr: 0.001, strategy: "hybrid" }));
  mkdirSync(join(run, "eval"));
  writeFileSync(
    join(run, "eval", "results.json"),
    JSON.stringify({
      results: {
        pubmedqa: { alias: "pubmedqa", "acc,none": 0.5625, "acc_stderr,none": 0.0234 },
        medqa_4options: {
          alias: "medqa_4options",
          "acc,none": 0.271,
          "acc_stderr,none": 0.0125,
          "acc_norm,none": 0.2899,
          "acc_norm_stderr,none": 0.0127,
        },
      },
      "n-shot": { pubmedqa: 0, medqa_4options: 3 },
    }),
  );
});

afterAll(() => rmSync(run, { recursive: true, force: true }));

test("report.html renders its charts and tables in headless Chromium", async () => {
  const out = execFileSync(process.execPath, [cli, "report", run], { encoding: "utf8" }).trim();
  expect(out).toBe(join(run, "report.html"));
  expect(chromiumPath, "Chromium is missing: run scripts/setup.sh").toBeDefined();
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1600 } });
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) requests.push(r.url());
    });
    await page.goto(pathToFileURL(out).href);
    // Self-contained: nothing but the file itself is fetched.
    expect(requests).toEqual([]);
    const chart = page.locator("#curves svg").first();
    const box = await chart.boundingBox();
    expect(box!.width).toBeGreaterThan(300);
    expect(box!.height).toBeGreaterThan(300);
    // Three panels with drawn lines: loss, learning rate, throughput.
    expect(await page.locator("#curves svg path").count()).toBeGreaterThan(6);
    const chartText = await chart.textContent();
    expect(chartText).toContain("learning rate");
    expect(chartText).toContain("tokens/s");

    const evalText = await page.locator("#eval").innerText();
    expect(evalText).toContain("medqa_4options");
    expect(evalText).toContain("0.2899");
    expect(evalText).toContain("0.5625");
    const summary = await page.locator("#summary").innerText();
    // first loss 9.8; final = mean of the last ten losses (steps 21..30) = 10 - 0.2 * 25.5 = 4.9
    expect(summary).toContain("9.8000 → 4.9000");
    expect(summary).toContain("30 of 30");
    expect(await page.locator("#config").innerText()).toContain("hybrid");

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, "report.png"), fullPage: true });
    expect(existsSync(join(artifacts, "report.png"))).toBe(true);
  } finally {
    await browser.close();
  }
});

test("report on a directory that is not a run fails with one line naming the file", () => {
  const empty = mkdtempSync(join(tmpdir(), "biomed-report-empty-"));
  try {
    execFileSync(process.execPath, [cli, "report", empty], { encoding: "utf8", stdio: "pipe" });
    expect.unreachable();
  } catch (e: any) {
    expect(e.status).toBe(1);
    expect(e.stderr.trim().split("\n")).toHaveLength(1);
    expect(e.stderr).toContain("metrics.jsonl");
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test("--out naming an existing file is refused before any work unless --overwrite; RUN_DIR/report.html is regenerated", () => {
  const dir = mkdtempSync(join(tmpdir(), "biomed-report-out-"));
  try {
    const out = join(dir, "notes.html");
    writeFileSync(out, "keep");
    const r = spawnSync(process.execPath, [cli, "report", run, "--out", out], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `biomed-llama: --out ${out}: already exists; pass --overwrite to replace it, or pick another path\n`,
    );
    expect(readFileSync(out, "utf8")).toBe("keep");
    const ok = spawnSync(process.execPath, [cli, "report", run, "--out", out, "--overwrite"], {
      encoding: "utf8",
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^<!doctype html>/);
    // The default output is derived from the run: written again without asking.
    for (let i = 0; i < 2; i++)
      expect(spawnSync(process.execPath, [cli, "report", run], { encoding: "utf8" }).status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
