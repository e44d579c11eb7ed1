/** Anything that yields uniform 32-bit unsigned integers: every generator of this package. */
export interface Uint32Source {
  nextUint32(): number;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** A uint32 as a double in [0, 1) with 32 bits of resolution: `x / 2^32`. */
export function unitFromUint32(x: number): number {
  return x / TWO_POW_32;
}

/**
 * A double in [0, 1) with 53 random bits from two uint32 outputs: the high 27 bits of `hi`, then the
 * high 26 bits of `lo` (the usual `(a >> 5, b >> 6)` construction).
 */
export function unitFrom53(hi: number, lo: number): number {
  return ((hi >>> 5) * TWO_POW_26 + (lo >>> 6)) / TWO_POW_53;
}

/**
 * Uniform integer in [0, n) without modulo bias: outputs at or above the largest multiple of n that
 * fits in 2^32 are rejected and redrawn. n must be an integer in [1, 2^32].
 */
export function uniformBelow(source: Uint32Source, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32)
    throw new RangeError(`n must be an integer in [1, 2^32], got ${n}`);
  const limit = TWO_POW_32 - (TWO_POW_32 % n);
  for (;;) {
    const x = source.nextUint32();
    if (x < limit) return x % n;
  }
}

/** An array-like whose elements can be assigned: plain arrays and typed arrays. */
export interface MutableArrayLike<T> {
  readonly length: number;
  [index: number]: T;
}

/**
 * Fisher–Yates (Durstenfeld) shuffle in place: for i from length-1 down to 1, swap element i with
 * element `below(i + 1)`, where `below(k)` returns an integer in [0, k). Returns `xs`.
 */
export function shuffleInPlace<T, A extends MutableArrayLike<T>>(xs: A, below: (k: number) => number): A {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = below(i + 1);
    const t = xs[i];
    xs[i] = xs[j];
    xs[j] = t;
  }
  return xs;
}

/** 0..n-1 shuffled by {@link shuffleInPlace} with `below`. */
export function permutation(n: number, below: (k: number) => number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  return shuffleInPlace<number, Uint32Array>(perm, below);
}

/**
 * Standard normal deviates by the Box–Muller transform, two per pair of uniforms: with
 * u = `x / 2^32` of the next output drawn until it is non-zero and v = `y / 2^32` of the one after,
 * r = sqrt(-2 ln u), θ = 2πv, it returns r·cos θ and keeps r·sin θ as the spare for the next call.
 * The spare is part of the state: save it with the source's state to resume the stream exactly.
 */
export class BoxMuller {
  spare: number | null = null;

  constructor(private readonly source: Uint32Source) {}

  next(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = unitFromUint32(this.source.nextUint32());
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * unitFromUint32(this.source.nextUint32());
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}
