import { addProgramFix } from "./backend-hooks.js";
import {
  bufferDtype,
  gpuType,
  type TensorInfo,
  type WebGpuBackendInternals,
  type WebGpuProgram,
} from "./util.js";

// Transpose of an int32 or bool tensor (other than a plain 2-D [1, 0] swap) does not compile in
// tfjs-backend-webgpu 4.22: TransposeProgram passes an i32 element to setOutputAtIndex, which takes an
// f32 ("type mismatch for argument 2 in call to 'setOutputAtIndex'"). The device error then poisons every
// later result (see guards.ts). tfjs's own Sum / Prod / Max / Min / Mean / All / Any / ArgMax / ArgMin /
// UnsortedSegmentSum / Softmax ... transpose through this program whenever the reduced axes are not the
// innermost ones, so they failed the same way on int32 and bool inputs. This fix rewrites the program's
// shader at dispatch, for every caller, to copy the element into the output buffer directly, converted
// to the output's element type: exact for every dtype (the shader it replaces went through f32, which
// rounds int32 values beyond ±2^24).

const XYZWUV = ["x", "y", "z", "w", "u", "v"];

function coordsType(rank: number): string {
  return rank <= 1 ? "i32" : rank <= 4 ? `vec${rank}<i32>` : `vec${rank}`;
}

/** The WGSL of TransposeProgram for output `outShape` = x.shape permuted by `newDim`, any dtypes. */
export function transposeShader(outShape: number[], newDim: number[], outDtype: string): string {
  const rank = outShape.length;
  const switched = new Array<string>(rank);
  newDim.forEach((d, i) => {
    switched[d] = rank > 1 ? `coords.${XYZWUV[i]}` : "coords";
  });
  const source = rank > 1 ? `${coordsType(rank)}(${switched.join(", ")})` : switched[0];
  return `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let coords = getCoordsFromIndex(index);
        result[index] = ${gpuType(outDtype)}(A[getIndexFromCoords${Math.max(rank, 1)}D(${source}, uniforms.aShape)]);
      }
    }
  `;
}

function fixTranspose(
  program: WebGpuProgram,
  inputs: TensorInfo[],
  outputDtype: string,
  backend: WebGpuBackendInternals,
): void {
  if (program.constructor.name !== "TransposeProgram") return;
  const p = program as WebGpuProgram & { newDim?: number[]; workPerThread?: number };
  if (!p.newDim || (p.workPerThread ?? 1) !== 1 || inputs.length !== 1) return;
  // The original is right (and unchanged) where input and output are float32 buffers.
  if (bufferDtype(backend, inputs[0]) === "float32" && outputDtype === "float32") return;
  const code = transposeShader(p.outputShape, p.newDim, outputDtype);
  p.getUserCode = () => code;
}

export function registerTransposeFix(): void {
  addProgramFix(fixTranspose);
}
