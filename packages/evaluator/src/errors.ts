/** Base class so callers (the CLI) can tell our bad-input errors from bugs. */
export class EvaluatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A task name that is not registered. */
export class UnknownTaskError extends EvaluatorError {}

/** A data file that is missing or does not have the fields its format requires. */
export class TaskDataError extends EvaluatorError {}

/** A model/tokenizer pair that cannot be evaluated together, or a bad model directory. */
export class ModelLoadError extends EvaluatorError {}

/** A request file or request that cannot be scored. */
export class RequestError extends EvaluatorError {}

/** A task spec that cannot be built: an unknown dataset path or split, a template that does not parse. */
export class TaskSpecError extends EvaluatorError {}
