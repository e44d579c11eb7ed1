// The only file that touches tfjs: exported as the `@biomed-llama/optimizer/tfjs` entry so the
// core (AdamW on Float32Array shards, clipping, schedules) loads without tfjs.
import * as tf from "@tensorflow/tfjs";
import { AdamW, type AdamWOptions, type AdamWStateDict } from "./adamw.js";
import { type DecayPolicy, decayMask } from "./decay-mask.js";
import { OptimizerInputError } from "./errors.js";

export interface AdamWVariablesOptions extends AdamWOptions {
  /** Which variables decay, judged by name and shape; default "matrices" (>= 2-D only). */
  decay?: DecayPolicy;
}

/**
 * AdamW over a map of tfjs variables (e.g. `model.namedParameters()`), keyed by variable name.
 * The update runs on float32 copies with the same arithmetic as `AdamW` (so it matches torch bit
 * for bit rather than inheriting the backend's kernels), then each variable is assigned the result.
 * Creates no tensors that outlive the call.
 */
export class AdamWVariables {
  readonly optimizer: AdamW;
  private readonly decay: DecayPolicy;

  constructor(opts: AdamWVariablesOptions = {}) {
    this.optimizer = new AdamW(opts);
    this.decay = opts.decay ?? "matrices";
  }

  /**
   * One step; every variable needs a gradient of its shape (variables without one are an error).
   * Asynchronous: values are read with `data()`, the one read every backend has (WebGPU has no other).
   */
  async step(
    variables: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr?: number,
  ): Promise<void> {
    for (const name of grads.keys()) {
      if (!variables.has(name))
        throw new OptimizerInputError(`AdamWVariables.step: gradient "${name}" has no variable`);
    }
    for (const [name, variable] of variables) {
      const grad = grads.get(name);
      if (grad === undefined)
        throw new OptimizerInputError(`AdamWVariables.step: variable "${name}" has no gradient`);
      if (!shapesEqual(variable.shape, grad.shape)) {
        throw new OptimizerInputError(
          `AdamWVariables.step: "${name}" gradient shape [${grad.shape}] differs from variable shape [${variable.shape}]`,
        );
      }
      if (variable.dtype !== "float32") {
        throw new OptimizerInputError(
          `AdamWVariables.step: "${name}" has dtype ${variable.dtype}, expected float32`,
        );
      }
      // Copy: data() may hand back the backend's own buffer.
      const param = Float32Array.from((await variable.data()) as Float32Array);
      const values = await grad.data();
      const g = grad.dtype === "float32" ? (values as Float32Array) : Float32Array.from(values);
      this.optimizer.step(
        [
          {
            key: name,
            param,
            grad: g,
            weightDecay: decayMask(name, variable.shape, this.decay) ? undefined : 0,
          },
        ],
        lr,
      );
      tf.tidy(() => variable.assign(tf.tensor(param, variable.shape, "float32")));
    }
  }

  stateDict(): AdamWStateDict {
    return this.optimizer.stateDict();
  }

  loadStateDict(sd: AdamWStateDict): void {
    this.optimizer.loadStateDict(sd);
  }
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
