import { correctArgReduce } from "./argReduce.js";

/** ArgMax: a scalar for a rank-1 input, zeros over an empty axis (see argReduce.ts). */
export function registerArgMax(): void {
  correctArgReduce("ArgMax");
}
