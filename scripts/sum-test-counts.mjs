// Sums vitest's per-run "Tests  N passed | M failed | K skipped (T)" lines from a log into one
// closing line "N passed, M failed, K skipped", so CI's summary covers every package.
import { readFileSync } from "node:fs";

const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const text = readFileSync(process.argv[2], "utf8").replace(ansi, "");
const total = { passed: 0, failed: 0, skipped: 0 };
for (const line of text.split("\n")) {
  const m = /^(?:\S+:\s+)?\s*Tests\s+(.*)\(\d+\)\s*$/.exec(line);
  if (!m) continue;
  for (const part of m[1].split("|")) {
    const p = /(\d+)\s+(passed|failed|skipped)/.exec(part);
    if (p) total[p[2]] += Number(p[1]);
  }
}
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
