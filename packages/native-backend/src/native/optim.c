// AdamW over flat float32 slices, the same arithmetic as @biomed-llama/optimizer's JS kernel (which
// matches torch 1.13's _single_tensor_adamw bit for bit): every product rounded to float32, the two
// fused multiply-adds of torch's vectorised add_/addcmul_ as fmaf, nothing else contracted (this file
// is compiled with -ffp-contract=off). Clones for AVX-512 / AVX2+FMA / baseline are picked at load time.
#include <math.h>

#include "common.h"

__attribute__((target_clones("avx512f", "arch=haswell", "default"))) static void adamw_loop(
    float* p, const float* g, float* m, float* v, const uint8_t* mask, int64_t n, float decay, float b1, float omb1,
    float b2, float omb2, float bc2sqrt, float neg_step, float eps) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float mb = m[i] * b1;
    float mi = fmaf(gi, omb1, mb);
    float vb = v[i] * b2;
    float gg = omb2 * gi;
    float vi = fmaf(gg, gi, vb);
    m[i] = mi;
    v[i] = vi;
    float sq = sqrtf(vi);
    float q = sq / bc2sqrt;
    float denom = q + eps;
    float pi = p[i];
    float pd = (mask == NULL || mask[i]) ? pi * decay : pi;
    float upd = neg_step * mi;
    p[i] = pd + upd / denom;
  }
}

// adamw(param, grad, expAvg, expAvgSq, mask (Uint8Array | null), decay, b1, oneMinusB1, b2, oneMinusB2,
//       bc2Sqrt, negStepSize, eps): scalars already rounded to float32 by the caller.
static napi_value Adamw(napi_env env, napi_callback_info info) {
  const char* fn = "adamw";
  napi_value argv[13];
  if (!get_args(env, info, 13, argv, fn)) return NULL;
  view_t p, g, m, v, mk = {0};
  if (!get_f32(env, argv[0], &p, fn, "param") || !get_f32(env, argv[1], &g, fn, "grad") ||
      !get_f32(env, argv[2], &m, fn, "expAvg") || !get_f32(env, argv[3], &v, fn, "expAvgSq"))
    return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[4], &t);
  if (t != napi_null && t != napi_undefined) {
    if (!get_view(env, argv[4], &mk, fn, "mask")) return NULL;
    if (mk.type != napi_uint8_array || mk.length != p.length) return throw_arg(env, fn, "mask must be a Uint8Array as long as param");
  }
  if (g.length != p.length || m.length != p.length || v.length != p.length) return throw_arg(env, fn, "param, grad, expAvg, expAvgSq must have one length");
  double s[8];
  const char* names[8] = {"decay", "b1", "oneMinusB1", "b2", "oneMinusB2", "bc2Sqrt", "negStepSize", "eps"};
  for (int i = 0; i < 8; i++)
    if (!get_f64(env, argv[5 + i], &s[i], fn, names[i])) return NULL;
  adamw_loop(p.data, g.data, m.data, v.data, mk.data, (int64_t)p.length, (float)s[0], (float)s[1], (float)s[2], (float)s[3],
             (float)s[4], (float)s[5], (float)s[6], (float)s[7]);
  return NULL;
}

napi_value init_optim(napi_env env, napi_value exports) {
  set_fn(env, exports, "adamw", Adamw);
  return exports;
}
