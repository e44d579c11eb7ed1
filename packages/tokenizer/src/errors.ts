/** A tokenizer model file that cannot be read, parsed, or that fails the post-load self-check. */
export class TokenizerModelError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: not a usable SentencePiece model (${reason})`);
    this.name = "TokenizerModelError";
  }
}

/** An .idx/.bin pair that does not follow Megatron's MMIDIDX layout, or a bad write request. */
export class IndexedDatasetError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "IndexedDatasetError";
  }
}
