import {
  correctKernel,
  flatDispatch,
  gpuType,
  sizeOf,
  stridesOf,
  type TensorInfo,
  type WebGpuProgram,
} from "./util.js";

// PadV2 (tf.pad) of a rank-5 or rank-6 tensor does not compile in tfjs-backend-webgpu 4.22 (its shader
// indexes a vec5 / vec6 struct: "cannot index type 'vec5'"), and the device error poisons every later
// result; its shader also carries int32 values through f32 (rounding them beyond ±2^24). This program
// computes each output element's source index with the shapes baked into the shader (any rank, any
// dtype) and copies the element, or writes the constant, exactly.

class PadProgram implements WebGpuProgram {
  variableNames = ["x"];
  uniforms = "constantValue : f32,";
  size = true;
  outputShape: number[];
  dispatchLayout: WebGpuProgram["dispatchLayout"];
  dispatch: WebGpuProgram["dispatch"];
  workgroupSize: WebGpuProgram["workgroupSize"];
  shaderKey: string;

  constructor(
    private xShape: number[],
    private paddings: [number, number][],
    private outDtype: string,
  ) {
    const d = flatDispatch(xShape.map((n, i) => paddings[i][0] + n + paddings[i][1]));
    this.outputShape = d.outputShape;
    this.dispatchLayout = d.dispatchLayout;
    this.dispatch = d.dispatch;
    this.workgroupSize = d.workgroupSize;
    // Shapes and paddings are baked into the code; tfjs appends ranks and buffer dtypes to the key.
    this.shaderKey = `biomedPad_${xShape.join("x")}_${paddings.map((p) => p.join("+")).join("_")}`;
  }

  getUserCode(): string {
    const out = this.outputShape;
    const outStrides = stridesOf(out);
    const inStrides = stridesOf(this.xShape);
    const t = gpuType(this.outDtype);
    const dims = out
      .map(
        (_, d) => `
        let c${d} = rem / ${outStrides[d]};
        rem = rem - c${d} * ${outStrides[d]};
        let i${d} = c${d} - ${this.paddings[d][0]};
        inside = inside && i${d} >= 0 && i${d} < ${this.xShape[d]};
        src = src + i${d} * ${inStrides[d]};`,
      )
      .join("");
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          var rem = index;
          var src = 0;
          var inside = true;
          ${dims}
          if (inside) {
            result[index] = ${t}(x[src]);
          } else {
            result[index] = ${t}(uniforms.constantValue);
          }
        }
      }
    `;
  }
}

export function registerPadV2(): void {
  correctKernel("PadV2", (original) => (args) => {
    const x = args.inputs.x;
    const paddings = args.attrs?.paddings as [number, number][];
    const constantValue = args.attrs?.constantValue as number;
    // No padding (an identity) and an empty x (a fill) are right in the original.
    if (sizeOf(x.shape) === 0 || paddings.every(([a, b]) => a === 0 && b === 0)) return original(args);
    const program = new PadProgram(x.shape, paddings, x.dtype);
    return args.backend.runWebGPUProgram(program, [x] as TensorInfo[], x.dtype, [
      { type: "float32", data: [constantValue] },
    ]);
  });
}
