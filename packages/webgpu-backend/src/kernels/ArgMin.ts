import { correctArgReduce } from "./argReduce.js";

/** ArgMin: a scalar for a rank-1 input, zeros over an empty axis (see argReduce.ts). */
export function registerArgMin(): void {
  correctArgReduce("ArgMin");
}
