import { SafetensorsError } from "./header.js";

/** Every float16 bit pattern's float32 value: 256 KiB once, then a lookup per element. */
const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

/** F16 or BF16 values → float32, written to dest from element `at` on. */
export function decode16Into(dtype: "F16" | "BF16", src: Uint16Array, dest: Float32Array, at = 0): void {
  if (dtype === "BF16") {
    // bfloat16 is the top half of a float32: shifting the bits up is exact.
    const bits = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
    for (let i = 0; i < src.length; i++) bits[at + i] = src[i] << 16;
  } else for (let i = 0; i < src.length; i++) dest[at + i] = F16_TABLE[src[i]];
}

/** Little-endian bytes of one tensor → float32 values; `where` names the tensor in errors. */
export function decodeToFloat32(dtype: string, bytes: Uint8Array, where: string): Float32Array {
  // Copy into a fresh, aligned buffer: typed-array views need an offset that is a multiple of the size.
  const buf = new Uint8Array(bytes.length);
  buf.set(bytes);
  switch (dtype) {
    case "F32":
      return new Float32Array(buf.buffer);
    case "F16":
    case "BF16": {
      const src = new Uint16Array(buf.buffer);
      const out = new Float32Array(src.length);
      decode16Into(dtype, src, out);
      return out;
    }
    case "F64":
      return Float32Array.from(new Float64Array(buf.buffer));
    case "I32":
      return Float32Array.from(new Int32Array(buf.buffer));
    case "I64":
      return Float32Array.from(new BigInt64Array(buf.buffer), (v) => Number(v));
    default:
      throw new SafetensorsError(`${where}: cannot convert dtype ${dtype} to float32`);
  }
}

/** float32 → bfloat16 bits, round to nearest even (what torch's .bfloat16() does); NaN stays NaN. */
export function float32ToBf16Bits(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x0040;
    else out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}
