export { Mulberry32, mulberry32 } from "./mulberry32.js";
export {
  BoxMuller,
  type MutableArrayLike,
  permutation,
  shuffleInPlace,
  type Uint32Source,
  uniformBelow,
  unitFrom53,
  unitFromUint32,
} from "./sampling.js";
export { SPLITMIX32_GAMMA, SplitMix32, splitmix32Mix, splitmix32Step } from "./splitmix32.js";
export { SplitMix64, splitmix64Words } from "./splitmix64.js";
export { Xoshiro128StarStar, type Xoshiro128StateDict, type XoshiroSeeding } from "./xoshiro128.js";
