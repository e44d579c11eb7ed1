// Fused LLaMA kernels (forward and backward): RMSNorm, SwiGLU, rotary embedding, softmax cross-entropy.
// Each replaces a chain of elementwise kernels that would each read and write the whole activation.
#include <math.h>

#include "common.h"

// rmsNorm(x [rows, h], w [h], out [rows, h], invRms [rows], eps): out = x · rsqrt(mean(x²) + eps) · w,
// in float32 like HF's float32 LlamaRMSNorm (the mean accumulates in double).
static napi_value RmsNorm(napi_env env, napi_callback_info info) {
  const char* fn = "rmsNorm";
  napi_value argv[5];
  view_t x, w, o, r;
  double eps;
  if (!get_args(env, info, 5, argv, fn) || !get_f32(env, argv[0], &x, fn, "x") || !get_f32(env, argv[1], &w, fn, "w") ||
      !get_f32(env, argv[2], &o, fn, "out") || !get_f32(env, argv[3], &r, fn, "invRms") || !get_f64(env, argv[4], &eps, fn, "eps"))
    return NULL;
  int64_t h = (int64_t)w.length;
  if (h == 0 || x.length % h || o.length < x.length || (int64_t)r.length < (int64_t)x.length / h) return throw_arg(env, fn, "bad shapes");
  int64_t rows = (int64_t)x.length / h;
  const float *px = x.data, *pw = w.data;
  float *po = o.data, *pr = r.data;
  float fe = (float)eps;
#pragma omp parallel for schedule(static) if (rows * h > PAR_MIN)
  for (int64_t i = 0; i < rows; i++) {
    const float* a = px + i * h;
    double s = 0;
    for (int64_t j = 0; j < h; j++) s += (double)a[j] * a[j];
    float var = (float)(s / h);
    float inv = 1.0f / sqrtf(var + fe);
    pr[i] = inv;
    float* b = po + i * h;
    for (int64_t j = 0; j < h; j++) b[j] = (a[j] * inv) * pw[j];
  }
  return NULL;
}

// rmsNormGrad(dy, x, w, invRms, dx, dwRows): dx for each row; dwRows [rows, h] = dy · x · invRms (the
// caller sums it over rows, so the weight gradient reduction is a plain column sum).
static napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  const char* fn = "rmsNormGrad";
  napi_value argv[6];
  view_t dy, x, w, r, dx, dw;
  if (!get_args(env, info, 6, argv, fn) || !get_f32(env, argv[0], &dy, fn, "dy") || !get_f32(env, argv[1], &x, fn, "x") ||
      !get_f32(env, argv[2], &w, fn, "w") || !get_f32(env, argv[3], &r, fn, "invRms") || !get_f32(env, argv[4], &dx, fn, "dx") ||
      !get_f32(env, argv[5], &dw, fn, "dwRows"))
    return NULL;
  int64_t h = (int64_t)w.length;
  if (h == 0 || x.length % h || dy.length != x.length || dx.length < x.length || dw.length < x.length) return throw_arg(env, fn, "bad shapes");
  int64_t rows = (int64_t)x.length / h;
  const float *pdy = dy.data, *px = x.data, *pw = w.data, *pr = r.data;
  float *pdx = dx.data, *pdw = dw.data;
#pragma omp parallel for schedule(static) if (rows * h > PAR_MIN)
  for (int64_t i = 0; i < rows; i++) {
    const float *g = pdy + i * h, *a = px + i * h;
    float inv = pr[i];
    double dot = 0;
    for (int64_t j = 0; j < h; j++) dot += (double)(g[j] * pw[j]) * a[j];
    // d/dx [x·inv·w] = inv·(g·w) − x·inv³·mean(g·w·x)
    float c = (float)(dot / h) * inv * inv * inv;
    float* d = pdx + i * h;
    float* e = pdw + i * h;
    for (int64_t j = 0; j < h; j++) {
      d[j] = inv * (g[j] * pw[j]) - a[j] * c;
      e[j] = g[j] * (a[j] * inv);
    }
  }
  return NULL;
}

// log-sum-exp of one row: max in 16 lanes, then Σ exp(x − max) in 16 float lanes added in double.
HOT static float row_lse(const float* a, int64_t n) {
  float mx[16], acc[16];
  for (int k = 0; k < 16; k++) mx[k] = -INFINITY, acc[k] = 0;
  int64_t body = n / 16 * 16;
  for (int64_t j = 0; j < body; j += 16)
    for (int k = 0; k < 16; k++) mx[k] = a[j + k] > mx[k] ? a[j + k] : mx[k];
  float m = -INFINITY;
  for (int k = 0; k < 16; k++) m = mx[k] > m ? mx[k] : m;
  for (int64_t j = body; j < n; j++) m = a[j] > m ? a[j] : m;
  for (int64_t j = 0; j < body; j += 16)
    for (int k = 0; k < 16; k++) acc[k] += vexpf(a[j + k] - m);
  double s = 0;
  for (int k = 0; k < 16; k++) s += acc[k];
  for (int64_t j = body; j < n; j++) s += vexpf(a[j] - m);
  return m + (float)log(s);
}

// (exp(x − lse) − [j = t]) · g for one row: the softmax cross-entropy gradient.
HOT static void xent_grad_row(const float* a, float* out, int64_t n, float lse, int32_t t, float g) {
  for (int64_t j = 0; j < n; j++) out[j] = vexpf(a[j] - lse) * g;
  out[t] = (vexpf(a[t] - lse) - 1.0f) * g;
}

static int64_t bad_target(const int32_t* t, int64_t rows, int64_t V) {
  for (int64_t i = 0; i < rows; i++)
    if (t[i] < 0 || t[i] >= V) return i;
  return -1;
}

// crossEntropy(logits [N, V], targets Int32Array [N], weights [N], lse out [N]) -> loss
// loss = Σ w·(logsumexp(x) − x[t]) (summed in double), lse kept for the backward pass.
// Throws naming the first target outside [0, V).
static napi_value CrossEntropy(napi_env env, napi_callback_info info) {
  const char* fn = "crossEntropy";
  napi_value argv[4];
  view_t x, t, w, l;
  if (!get_args(env, info, 4, argv, fn) || !get_f32(env, argv[0], &x, fn, "logits") || !get_view(env, argv[1], &t, fn, "targets") ||
      !get_f32(env, argv[2], &w, fn, "weights") || !get_f32(env, argv[3], &l, fn, "lse"))
    return NULL;
  int64_t N = (int64_t)w.length;
  if (t.type != napi_int32_array || (int64_t)t.length != N || (int64_t)l.length < N || N == 0 || x.length % N)
    return throw_arg(env, fn, "targets (Int32Array), weights and lse must have one row each");
  int64_t V = (int64_t)x.length / N;
  const float *px = x.data, *pw = w.data;
  const int32_t* pt = t.data;
  float* pl = l.data;
  if (bad_target(pt, N, V) >= 0) return throw_arg(env, fn, "a target is outside [0, V)");
#pragma omp parallel for schedule(static) if (N * V > PAR_MIN)
  for (int64_t i = 0; i < N; i++) pl[i] = row_lse(px + i * V, V);
  double total = 0;
  for (int64_t i = 0; i < N; i++) total += (double)(pw[i] * (pl[i] - px[i * V + pt[i]]));
  napi_value res;
  napi_create_double(env, (double)(float)total, &res);
  return res;
}

// crossEntropyGrad(logits, targets, weights, lse, dy, out [N, V]): out = (softmax(x) − onehot(t)) · w · dy.
static napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
  const char* fn = "crossEntropyGrad";
  napi_value argv[6];
  view_t x, t, w, l, o;
  double dy;
  if (!get_args(env, info, 6, argv, fn) || !get_f32(env, argv[0], &x, fn, "logits") || !get_view(env, argv[1], &t, fn, "targets") ||
      !get_f32(env, argv[2], &w, fn, "weights") || !get_f32(env, argv[3], &l, fn, "lse") || !get_f64(env, argv[4], &dy, fn, "dy") ||
      !get_f32(env, argv[5], &o, fn, "out"))
    return NULL;
  int64_t N = (int64_t)w.length;
  if (t.type != napi_int32_array || (int64_t)t.length != N || (int64_t)l.length < N || N == 0 || x.length % N || o.length < x.length)
    return throw_arg(env, fn, "bad shapes");
  int64_t V = (int64_t)x.length / N;
  const float *px = x.data, *pw = w.data, *pl = l.data;
  const int32_t* pt = t.data;
  float* po = o.data;
  if (bad_target(pt, N, V) >= 0) return throw_arg(env, fn, "a target is outside [0, V)");
  float fdy = (float)dy;
#pragma omp parallel for schedule(static) if (N * V > PAR_MIN)
  for (int64_t i = 0; i < N; i++) xent_grad_row(px + i * V, po + i * V, V, pl[i], pt[i], pw[i] * fdy);
  return NULL;
}

napi_value init_fused(napi_env env, napi_value exports) {
  set_fn(env, exports, "crossEntropy", CrossEntropy);
  set_fn(env, exports, "crossEntropyGrad", CrossEntropyGrad);
  set_fn(env, exports, "rmsNorm", RmsNorm);
  set_fn(env, exports, "rmsNormGrad", RmsNormGrad);
  return exports;
}
