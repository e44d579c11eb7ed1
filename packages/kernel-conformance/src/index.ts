export {
  describeDiff,
  EXACT,
  type Fn,
  maxTol,
  type Out,
  type Tol,
  ulp,
  ulps,
  within,
} from "./compare.js";
export {
  BROADCAST_PATTERNS,
  bools,
  broadcastPair,
  type DT,
  type FloatOpts,
  floats,
  INT32_EDGE,
  ints,
  NONFINITE,
  Rng,
  randShape,
  SPECIAL_F32,
  sizeOf,
  values,
} from "./inputs.js";
export {
  type CaseInfo,
  type ConformancePolicy,
  type ConformanceStats,
  type ConformanceSubject,
  defineConformanceSuite,
  type KnownDiff,
  matchKnown,
} from "./suite.js";
export { KNOWN_WASM_DIFFS } from "./wasm-diffs.js";
