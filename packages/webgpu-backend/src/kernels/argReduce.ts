import * as tf from "@tensorflow/tfjs";
import { addProgramFix } from "./backend-hooks.js";
import { correctKernel, disposeAll, fill, reshape, type WebGpuProgram } from "./util.js";

// ArgMax / ArgMin in tfjs-backend-webgpu 4.22:
//  - of a rank-1 tensor return shape [1] instead of a scalar (tf.argMax(logits1d) in greedy decoding);
//  - over an axis of size 0 bind an empty buffer ("Binding size ... is zero"), a device error that
//    poisons every later result; cpu returns zeros;
//  - over 32 or more elements (its workgroup-reduction shader) return some index of a tied maximum
//    instead of the first one (each thread keeps its own candidate on a tie, whatever its index), and
//    skip a NaN in the first position where cpu (and its own shader for short rows) returns 0.
// The corrected kernel returns zeros for an empty axis and reshapes the result to the reduced shape; a
// program fix replaces the workgroup-reduction shader by one that breaks ties by the smaller index and
// gives 0 where the row starts with NaN (or holds nothing but NaN), as cpu does.

const XYZWUV = ["x", "y", "z", "w", "u", "v"];

interface ArgMinMaxProgramLike extends WebGpuProgram {
  type: "plain" | "shared";
  op: ">" | "<";
  inputShape: number[];
}

/** The workgroup-reduction ArgMin / ArgMax shader with first-index ties and cpu's NaN rule. */
export function argMinMaxSharedShader(p: ArgMinMaxProgramLike): string {
  const wg = p.workgroupSize[0];
  const lastDim =
    p.inputShape.length === 1 ? "uniforms.xShape" : `uniforms.xShape.${XYZWUV[p.inputShape.length - 1]}`;
  let outCoords = "";
  if (p.outputShape.length === 1) {
    if (p.inputShape.length !== 1) outCoords = "outputCoords,";
  } else outCoords = p.outputShape.map((_, i) => `outputCoords.${XYZWUV[i]},`).join("");
  const better = (v: string, i: string) =>
    `(${v} ${p.op} bestValue || (${v} == bestValue && ${i} < bestIndex))`;
  return `
    fn DIV_CEIL(a : u32, b : u32) -> u32 {
      return ((a - 1u) / b + 1u);
    }
    var<workgroup> xBestIndices : array<i32, ${wg}>;
    var<workgroup> xBestValues : array<f32, ${wg}>;

    fn main(index : i32) {
      let outputIndex = index / ${wg};
      let reduceLength = ${lastDim};
      // No candidate yet: index reduceLength, value ±infinity (loses every tie on index).
      var bestIndex = reduceLength;
      var bestValue = uniforms.infinityValue;
      let outputCoords = getCoordsFromIndex(outputIndex);
      for (var k = i32(localId.x); k < reduceLength && outputIndex < uniforms.size; k = k + ${wg}) {
        let candidate = getX(${outCoords} k);
        if (!isnan(candidate) && ${better("candidate", "k")}) {
          bestValue = candidate;
          bestIndex = k;
        }
      }
      xBestValues[localId.x] = bestValue;
      xBestIndices[localId.x] = bestIndex;
      workgroupBarrier();

      var reduceSize = min(u32(reduceLength), ${wg}u);
      for (var currentSize = reduceSize / 2u; reduceSize > 1u; currentSize = reduceSize / 2u) {
        let interval = DIV_CEIL(reduceSize, 2u);
        if (localId.x < currentSize) {
          let candidate = xBestValues[localId.x + interval];
          let candidateIndex = xBestIndices[localId.x + interval];
          if (${better("candidate", "candidateIndex")}) {
            bestValue = candidate;
            bestIndex = candidateIndex;
            xBestValues[localId.x] = bestValue;
            xBestIndices[localId.x] = bestIndex;
          }
        }
        reduceSize = interval;
        workgroupBarrier();
      }

      if (localId.x == 0u && outputIndex < uniforms.size) {
        var best = xBestIndices[0];
        if (best >= reduceLength || isnan(getX(${outCoords} 0))) {
          best = 0;
        }
        setOutputAtIndexI32(outputIndex, best);
      }
    }
  `;
}

function fixArgMinMax(program: WebGpuProgram): void {
  if (program.constructor.name !== "ArgMinMaxProgram") return;
  const p = program as ArgMinMaxProgramLike;
  if (p.type !== "shared" || !p.inputShape || (p.op !== ">" && p.op !== "<")) return;
  const code = argMinMaxSharedShader(p);
  p.getUserCode = () => code;
  // The shader differs from tfjs's: keep their pipelines apart in the backend's cache.
  p.shaderKey = p.shaderKey.replace(/^argMinMax_/, "biomedArgMinMax_");
}

export function correctArgReduce(kernelName: "ArgMax" | "ArgMin"): void {
  addProgramFix(fixArgMinMax);
  correctKernel(kernelName, (original) => (args) => {
    const { backend } = args;
    const x = args.inputs.x;
    const [axis] = tf.util.parseAxisParam(args.attrs?.axis as number | number[], x.shape);
    const outShape = x.shape.filter((_, i) => i !== axis);
    if (x.shape[axis] === 0) return fill(backend, outShape, 0, "int32");
    const out = original(args);
    if (Array.isArray(out) || tf.util.arraysEqual(out.shape, outShape)) return out;
    const fixed = reshape(backend, out, outShape);
    disposeAll(backend, [out]);
    return fixed;
  });
}
