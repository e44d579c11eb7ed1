/** Thrown when a caller passes malformed input (mismatched lengths, bad hyper-parameters). */
export class OptimizerInputError extends Error {
  override name = "OptimizerInputError";
}

/** Thrown when a state dict cannot be loaded (wrong kind, wrong shapes, missing fields). */
export class OptimizerStateError extends Error {
  override name = "OptimizerStateError";
}
