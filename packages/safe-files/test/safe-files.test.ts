import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  checkOutput,
  digestTree,
  filterJsonl,
  ioError,
  JsonlAppender,
  OutputError,
  RunLock,
  RunLockedError,
  readJsonl,
  verifyDigests,
  writeDirAtomic,
  writeFileAtomic,
} from "../src/index";

const tmp = () => mkdtempSync(join(tmpdir(), "safe-files-"));

describe("checkOutput", () => {
  test("absent, empty and (with overwrite) non-empty outputs; refusals name the flag and path", () => {
    const d = tmp();
    expect(checkOutput(join(d, "new", "deeper"), { flag: "--out", kind: "dir" })).toBe("absent");
    mkdirSync(join(d, "empty"));
    expect(checkOutput(join(d, "empty"), { flag: "--out", kind: "dir" })).toBe("empty");
    mkdirSync(join(d, "full"));
    writeFileSync(join(d, "full", "notes.txt"), "keep");
    expect(() => checkOutput(join(d, "full"), { flag: "--out", kind: "dir" })).toThrow(
      `--out ${join(d, "full")}: already exists and is not empty; pass --overwrite to replace it, or pick another path`,
    );
    expect(checkOutput(join(d, "full"), { flag: "--out", kind: "dir", overwrite: true })).toBe("replace");
    writeFileSync(join(d, "file.json"), "{}");
    // a file is never replaced by a directory, even with overwrite, nor a directory by a file
    expect(() => checkOutput(join(d, "file.json"), { flag: "--out", kind: "dir", overwrite: true })).toThrow(
      /--out .*file\.json: exists and is not a directory/,
    );
    expect(() => checkOutput(join(d, "full"), { flag: "--output", kind: "file", overwrite: true })).toThrow(
      /--output .*full: is a directory/,
    );
    expect(() => checkOutput(join(d, "file.json"), { flag: "--output", kind: "file" })).toThrow(OutputError);
    expect(checkOutput(join(d, "file.json"), { flag: "--output", kind: "file", overwrite: true })).toBe(
      "replace",
    );
    // a path under a plain file cannot be created
    expect(() => checkOutput(join(d, "file.json", "x"), { flag: "--out", kind: "dir" })).toThrow(
      /file\.json is not a directory/,
    );
    expect(readFileSync(join(d, "full", "notes.txt"), "utf8")).toBe("keep");
  });
});

describe("writeDirAtomic", () => {
  test("a failing fill leaves nothing: no temp dir, no created parents; an existing dir is untouched", async () => {
    const d = tmp();
    const boom = new Error("boom");
    await expect(
      writeDirAtomic(join(d, "a", "b", "out"), (t) => {
        writeFileSync(join(t, "half"), "x");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(readdirSync(d)).toEqual([]);
    mkdirSync(join(d, "keep"));
    writeFileSync(join(d, "keep", "old"), "old");
    await expect(writeDirAtomic(join(d, "keep"), () => {})).rejects.toThrow(OutputError);
    expect(readdirSync(join(d, "keep"))).toEqual(["old"]);
    expect(readdirSync(d)).toEqual(["keep"]);
    await writeDirAtomic(join(d, "keep"), (t) => writeFileSync(join(t, "new"), "new"), { replace: true });
    expect(readdirSync(join(d, "keep"))).toEqual(["new"]);
    expect(readdirSync(d)).toEqual(["keep"]);
  });
});

describe("writeFileAtomic and ioError", () => {
  test("a write past the file size limit names the path, leaves the old file and no temp", () => {
    const d = tmp();
    const file = join(d, "out.bin");
    writeFileSync(file, "old");
    const script = `
      const { writeFileAtomic } = await import(${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)});
      try { writeFileAtomic(${JSON.stringify(file)}, Buffer.alloc(1 << 20)); }
      catch (e) { console.error(e.message); process.exit(3); }`;
    let stderr = "";
    let status = 0;
    try {
      execFileSync(
        "bash",
        ["-c", `ulimit -f 64; exec ${process.execPath} --input-type=module -e "$0"`, script],
        {
          stdio: "pipe",
        },
      );
    } catch (e) {
      status = (e as { status: number }).status;
      stderr = String((e as { stderr: Buffer }).stderr);
    }
    expect(status).toBe(3);
    expect(stderr.trim()).toBe(
      `${file}: file too large (file system limit or the process's file size limit, ulimit -f) (EFBIG)`,
    );
    expect(readFileSync(file, "utf8")).toBe("old");
    expect(readdirSync(d)).toEqual(["out.bin"]);
  });

  test("ENOSPC from a descriptor write becomes one line naming the path", () => {
    const e = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const out = ioError(e, "/data/run/model.safetensors");
    expect(out.message).toBe("/data/run/model.safetensors: no space left on device (ENOSPC)");
    expect((out as NodeJS.ErrnoException).code).toBe("ENOSPC");
    const plain = new Error("not an errno error");
    expect(ioError(plain, "/x")).toBe(plain);
    writeFileAtomic(join(tmp(), "ok.txt"), "fine");
  });
});

describe("RunLock", () => {
  test("one holder; a second is refused naming it; release lets the next one in", () => {
    const d = tmp();
    const a = RunLock.acquire(d, "pretrain");
    expect(() => RunLock.acquire(d, "finetune")).toThrow(RunLockedError);
    const owner = JSON.parse(readFileSync(join(d, "run.lock"), "utf8"));
    expect(owner).toMatchObject({ pid: process.pid, host: hostname(), command: "pretrain" });
    a.release();
    a.release();
    expect(existsSync(join(d, "run.lock"))).toBe(false);
    RunLock.acquire(d, "finetune").release();
  });

  test("a live process elsewhere holds it; a dead one's or a reused pid's lock is stale", async () => {
    const d = tmp();
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      writeFileSync(
        join(d, "run.lock"),
        JSON.stringify({
          pid: live.pid,
          host: hostname(),
          started: "t",
          procStart: null,
          command: "pretrain",
        }),
      );
      expect(() => RunLock.acquire(d, "x")).toThrow(
        new RegExp(`in use by pid ${live.pid} on ${hostname()}, pretrain`),
      );
      // same pid, but another process start time: the pid was reused, the holder is gone
      writeFileSync(
        join(d, "run.lock"),
        JSON.stringify({
          pid: live.pid,
          host: hostname(),
          started: "t",
          procStart: "1",
          command: "pretrain",
        }),
      );
      const said: string[] = [];
      RunLock.acquire(d, "x", (m) => said.push(m)).release();
      expect(said[0]).toMatch(/took over a stale lock/);
    } finally {
      live.kill("SIGKILL");
    }
    // another host cannot be judged from here: name the file to remove
    writeFileSync(
      join(d, "run.lock"),
      JSON.stringify({ pid: 1, host: "node-17", started: "t", procStart: null, command: "pretrain" }),
    );
    expect(() => RunLock.acquire(d, "x")).toThrow(`remove ${join(d, "run.lock")}`);
  });

  test("of many processes racing for one directory, exactly one gets it", async () => {
    const d = tmp();
    const dist = JSON.stringify(new URL("../dist/index.js", import.meta.url).href);
    const script = `const { RunLock } = await import(${dist});
      try { RunLock.acquire(${JSON.stringify(d)}, "race"); console.log("got"); setTimeout(() => {}, 1500); }
      catch (e) { console.log("refused"); }`;
    const outs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve) => {
            const p = spawn(process.execPath, ["--input-type=module", "-e", script]);
            let s = "";
            p.stdout.on("data", (b) => {
              s += b;
            });
            p.on("exit", () => resolve(s.trim()));
          }),
      ),
    );
    expect(outs.filter((o) => o === "got")).toHaveLength(1);
    expect(outs.filter((o) => o === "refused")).toHaveLength(5);
  }, 30_000);
});

describe("digests", () => {
  test("sizes and sha256 of every file; a flipped byte, a truncation and a missing file are named", () => {
    const d = tmp();
    mkdirSync(join(d, "sub"));
    writeFileSync(join(d, "a.bin"), Buffer.alloc(10_000, 7));
    writeFileSync(join(d, "sub", "b.txt"), "hello");
    symlinkSync(join(d, "a.bin"), join(d, "link"));
    const files = digestTree(d);
    expect(files).toEqual([
      {
        path: "a.bin",
        size: 10_000,
        sha256: createHash("sha256").update(Buffer.alloc(10_000, 7)).digest("hex"),
      },
      { path: "sub/b.txt", size: 5, sha256: createHash("sha256").update("hello").digest("hex") },
    ]);
    expect(verifyDigests(d, files)).toBeNull();
    writeFileSync(join(d, "sub", "b.txt"), "hellO");
    expect(verifyDigests(d, files)).toBe(
      `${join(d, "sub", "b.txt")}: sha256 differs from the manifest (the file is damaged)`,
    );
    truncateSync(join(d, "a.bin"), 9_000);
    expect(verifyDigests(d, files)).toMatch(/a\.bin: 9000 bytes, the manifest says 10000/);
    expect(verifyDigests(d, [{ path: "gone", size: 1, sha256: "" }])).toMatch(/gone: missing/);
  });
});

describe("JSONL", () => {
  test("a torn last line is cut before the next append, dropped with a warning on read", () => {
    const file = join(tmp(), "log.jsonl");
    const w = new JsonlAppender(file);
    w.append({ step: 1 });
    appendFileSync(file, '{"step":2,"lo');
    const warnings: string[] = [];
    expect(readJsonl(file, (m) => warnings.push(m))).toEqual([{ step: 1 }]);
    expect(warnings[0]).toMatch(/ignored a torn last line 2/);
    new JsonlAppender(file, (m) => warnings.push(m)).append({ step: 2 });
    expect(warnings[1]).toMatch(/dropped a torn last line \(13 bytes/);
    expect(readFileSync(file, "utf8")).toBe('{"step":1}\n{"step":2}\n');
    writeFileSync(file, '{"step":1}\nnot json\n{"step":3}\n');
    expect(() => readJsonl(file)).toThrow(`${file}: line 2 is not JSON`);
  });

  test("filterJsonl keeps the chosen records, atomically", () => {
    const file = join(tmp(), "m.jsonl");
    writeFileSync(file, [1, 2, 3, 4].map((s) => `${JSON.stringify({ step: s })}\n`).join(""));
    expect(filterJsonl(file, (r) => (r as { step: number }).step <= 2)).toBe(2);
    expect(readFileSync(file, "utf8")).toBe('{"step":1}\n{"step":2}\n');
    expect(readdirSync(join(file, "..")).length).toBe(1);
  });
});
