import { SourceFormatError } from "../errors.js";
import type { AdapterOptions, AdapterResult } from "../record.js";
import { isObject, RecordCollector, readJsonDocument, requireText } from "../source-file.js";

/**
 * Alpaca-style data (AlpacaDataCleaned's alpaca_data_cleaned.json, visual-med-alpaca's
 * med_alpaca_data_clean.json): a JSON array of {instruction, input, output}; `input` may be
 * empty (the Alpaca template then drops the Input section). Default stratum name
 * "AlpacaDataCleaned"; pass `name: "visual-med-alpaca"` for the other.
 */
export function loadAlpaca(file: string, opts: AdapterOptions = {}): AdapterResult {
  const source = opts.name ?? "AlpacaDataCleaned";
  const doc = readJsonDocument(file);
  if (!Array.isArray(doc))
    throw new SourceFormatError(file, "expected a JSON array of {instruction, input, output}");
  const out = new RecordCollector(file, opts.strict ?? false);
  for (const [index, r] of doc.entries()) {
    if (!isObject(r)) {
      out.reject(index, "record is not a JSON object");
      continue;
    }
    const instruction = requireText(r, "instruction");
    if (typeof instruction !== "string") {
      out.reject(index, instruction.reason);
      continue;
    }
    const output = requireText(r, "output");
    if (typeof output !== "string") {
      out.reject(index, output.reason);
      continue;
    }
    if (r.input !== undefined && typeof r.input !== "string") {
      out.reject(index, `field "input" is not a string`);
      continue;
    }
    out.add({ source, template: "alpaca", instruction, input: ((r.input as string) ?? "").trim(), output });
  }
  return out.result();
}
