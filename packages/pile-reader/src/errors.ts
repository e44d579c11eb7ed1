/**
 * Every failure of the reader is one of these, so callers (the CLI) can print one line that names
 * the file and where in it things went wrong.
 */
export class PileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** An input path, directory or glob that matched no readable `.jsonl` / `.jsonl.zst` file. */
export class PileInputError extends PileError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`${input}: ${reason}`);
  }
}

/** A zstd stream that is corrupt or ends inside a frame. `offset` is the compressed byte offset. */
export class PileZstdError extends PileError {
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`${file}: zstd ${reason} at compressed byte ${offset}`);
  }
}

/** A line that is not a JSON object with a string `text`. `line` is 1-based, as editors count. */
export class PileJsonError extends PileError {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

/** A cursor that does not fit the inputs it is applied to. */
export class PileCursorError extends PileError {}
