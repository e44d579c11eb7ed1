import {
  correctKernel,
  disposeAll,
  fill,
  reshape,
  runKernel,
  sizeOf,
  type TensorInfo,
  type WebGpuProgram,
} from "./util.js";

// UnsortedSegmentSum (the gradient of tf.gather: the embedding's gradient) in tfjs-backend-webgpu 4.22:
//  - a segment id ≥ numSegments is added into segment id % numSegments instead of being dropped (cpu
//    and TensorFlow drop ids outside [0, numSegments));
//  - for int32 it adds the bits of the f32-converted value (atomicAdd(bitcast<i32>(f32(x)))), i.e.
//    garbage;
//  - an input with no rows throws ("Cannot infer the missing size in [-1,0]").
// This kernel does what tfjs's does (segmented axis moved innermost, one atomic add per element into a
// zeroed output) with the id checked against [0, numSegments) and int32 added as int32.

class SegmentSumProgram implements WebGpuProgram {
  variableNames = ["x", "segmentIds"];
  uniforms = "numSegments : i32, xSize : i32, inSize : i32,";
  atomic = true;
  outputShape: number[];
  dispatchLayout: WebGpuProgram["dispatchLayout"];
  dispatch: WebGpuProgram["dispatch"];
  workgroupSize: WebGpuProgram["workgroupSize"] = [64, 1, 1];
  shaderKey: string;

  constructor(
    inShape: number[],
    outShape: number[],
    private dtype: string,
  ) {
    this.outputShape = outShape;
    // One invocation per input element (tfjs's layout for this program).
    this.dispatchLayout = { x: inShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(sizeOf(inShape) / 64), 1, 1];
    this.shaderKey = `biomedSegmentSum_${dtype}`;
  }

  getUserCode(): string {
    const add =
      this.dtype === "int32"
        ? "atomicAdd(&result[flatIndex], i32(x[index]));"
        : `var old = atomicLoad(&result[flatIndex]);
          loop {
            let next = bitcast<i32>(bitcast<f32>(old) + f32(x[index]));
            let res = atomicCompareExchangeWeak(&result[flatIndex], old, next);
            if (res.exchanged) {
              break;
            }
            old = res.old_value;
          }`;
    return `
      fn main(index : i32) {
        if (index < uniforms.xSize) {
          let row = index / uniforms.inSize;
          let col = index - row * uniforms.inSize;
          let segmentId = i32(segmentIds[col]);
          if (segmentId >= 0 && segmentId < uniforms.numSegments) {
            let flatIndex = row * uniforms.numSegments + segmentId;
            ${add}
          }
        }
      }
    `;
  }
}

export function registerUnsortedSegmentSum(): void {
  correctKernel("UnsortedSegmentSum", () => (args) => {
    const { backend } = args;
    const { x, segmentIds } = args.inputs;
    const numSegments = args.attrs?.numSegments as number;
    const outShape = [numSegments, ...x.shape.slice(1)];
    if (x.dtype !== "float32" && x.dtype !== "int32")
      throw new Error(`UnsortedSegmentSum supports float32 and int32, not ${x.dtype}`);
    if (sizeOf(x.shape) === 0 || numSegments === 0) return fill(backend, outShape, 0, x.dtype);
    const temps: TensorInfo[] = [];
    // Move the segmented axis (0) innermost: x becomes [rows, n].
    const rank = x.shape.length;
    const perm = rank > 1 ? [...Array.from({ length: rank - 1 }, (_, i) => i + 1), 0] : null;
    const moved = perm ? runKernel("Transpose", backend, { x }, { perm }) : x;
    if (perm) temps.push(moved);
    const n = x.shape[0];
    const rows = sizeOf(x.shape) / n;
    const x2 = reshape(backend, moved, [rows, n]);
    temps.push(x2);
    const out2 = fill(backend, [rows, numSegments], 0, x.dtype);
    const program = new SegmentSumProgram(x2.shape, out2.shape, x.dtype);
    backend.runWebGPUProgram(
      program,
      [x2, segmentIds],
      x.dtype,
      [
        { type: "int32", data: [numSegments] },
        { type: "int32", data: [rows * n] },
        { type: "int32", data: [n] },
      ],
      out2,
    );
    temps.push(out2);
    // [rows, numSegments] → [...inner, numSegments] → [numSegments, ...inner].
    const out = reshape(backend, out2, [...x.shape.slice(1), numSegments]);
    let result = out;
    if (perm) {
      temps.push(out);
      result = runKernel(
        "Transpose",
        backend,
        { x: out },
        { perm: [rank - 1, ...Array.from({ length: rank - 1 }, (_, i) => i)] },
      );
    }
    disposeAll(backend, temps);
    return result;
  });
}
