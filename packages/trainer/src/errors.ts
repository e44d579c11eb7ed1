/** A run configuration with one or more problems; `problems` lists every one of them. */
export class ConfigError extends Error {
  readonly problems: string[];
  /** `source` names where the values came from; "" when every problem names its own flag. */
  constructor(source: string, problems: string[]) {
    const list = problems.length === 1 ? problems[0] : `${problems.length} problems: ${problems.join("; ")}`;
    super(
      source
        ? `${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}: ${problems.join("; ")}`
        : list,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A fine-tuning data file that does not have the expected format; names the file and record. */
export class DataFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataFormatError";
  }
}

/** Too many optimizer steps in a row had a non-finite loss or gradient norm. */
export class NonFiniteLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** A checkpoint directory that is missing, damaged or inconsistent with the run: the model package's
 * own error, so one `instanceof` covers a checkpoint that fails to load and one that fails to resume. */
export { CheckpointError } from "@biomed-llama/llama-model";
