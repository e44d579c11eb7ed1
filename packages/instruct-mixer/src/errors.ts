/** Base class so callers can catch everything this package throws on bad input in one place. */
export class InstructMixerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A source file (or one of its records, in strict mode) does not follow its upstream format. */
export class SourceFormatError extends InstructMixerError {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly index?: number,
  ) {
    super(`${file}${index === undefined ? "" : ` [record ${index}]`}: ${detail}`);
  }
}

/** The mixture configuration (mix.json or the options passed in code) is invalid. */
export class MixConfigError extends InstructMixerError {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
