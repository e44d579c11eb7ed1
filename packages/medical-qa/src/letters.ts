/** The letter of option `i` (0 → "A"): how every format here names its options. */
export function optionLetter(i: number): string {
  return String.fromCharCode(65 + i);
}

/** The first `n` option letters: `optionLetters(4)` is A, B, C, D. */
export function optionLetters(n: number): string[] {
  return Array.from({ length: n }, (_, i) => optionLetter(i));
}
