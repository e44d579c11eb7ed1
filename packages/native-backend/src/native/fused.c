// Fused LLaMA kernels (forward and backward): RMSNorm, SwiGLU, rotary embedding, scaled + masked
// attention softmax, softmax cross-entropy. Each replaces a chain of elementwise kernels that would each
// read and write the whole activation (the step is memory-bound outside the matmuls on 2 cores).
// Each replaces a chain of elementwise kernels that would each read and write the whole activation.
#include <math.h>

#include "common.h"

// rmsNorm(x [rows, h], w [h], out [rows, h], invRms [rows], eps): out = (x · rsqrt(mean(x²) + eps)) · w,
// in float32 like HF's float32 LlamaRMSNorm (the mean of squares accumulates in double).
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

// rmsNormGrad(dy, x, w, invRms, dx, dw): dx = inv·(dy·w) − x·inv³·mean(dy·w·x) per row;
// dw[j] = Σ_rows dy·x·inv, summed in double over rows in order (column blocks in parallel).
static napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  const char* fn = "rmsNormGrad";
  napi_value argv[6];
  view_t dy, x, w, r, dx, dw;
  if (!get_args(env, info, 6, argv, fn) || !get_f32(env, argv[0], &dy, fn, "dy") || !get_f32(env, argv[1], &x, fn, "x") ||
      !get_f32(env, argv[2], &w, fn, "w") || !get_f32(env, argv[3], &r, fn, "invRms") || !get_f32(env, argv[4], &dx, fn, "dx") ||
      !get_f32(env, argv[5], &dw, fn, "dw"))
    return NULL;
  int64_t h = (int64_t)w.length;
  if (h == 0 || x.length % h || dy.length != x.length || dx.length < x.length || (int64_t)dw.length < h) return throw_arg(env, fn, "bad shapes");
  int64_t rows = (int64_t)x.length / h;
  const float *pdy = dy.data, *px = x.data, *pw = w.data, *pr = r.data;
  float *pdx = dx.data, *pdw = dw.data;
#pragma omp parallel for schedule(static) if (rows * h > PAR_MIN)
  for (int64_t i = 0; i < rows; i++) {
    const float *g = pdy + i * h, *a = px + i * h;
    float inv = pr[i];
    double dot = 0;
    for (int64_t j = 0; j < h; j++) dot += (double)(g[j] * pw[j]) * a[j];
    float c = (float)(dot / h) * inv * inv * inv;
    float* d = pdx + i * h;
    for (int64_t j = 0; j < h; j++) d[j] = inv * (g[j] * pw[j]) - a[j] * c;
  }
  int64_t blocks = (h + 63) / 64;
#pragma omp parallel for schedule(static) if (rows * h > PAR_MIN)
  for (int64_t bI = 0; bI < blocks; bI++) {
    int64_t j0 = bI * 64, w_ = h - j0 < 64 ? h - j0 : 64;
    double acc[64] = {0};
    for (int64_t i = 0; i < rows; i++) {
      const float *g = pdy + i * h + j0, *a = px + i * h + j0;
      float inv = pr[i];
      for (int64_t j = 0; j < w_; j++) acc[j] += (double)(g[j] * (a[j] * inv));
    }
    for (int64_t j = 0; j < w_; j++) pdw[j0 + j] = (float)acc[j];
  }
  return NULL;
}

HOT static void swiglu_chunk(const float* g, const float* u, float* o, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float s = 1.0f / (1.0f + vexpf(-g[i]));
    o[i] = (g[i] * s) * u[i];
  }
}
HOT static void swiglu_grad_chunk(const float* dy, const float* g, const float* u, float* dg, float* du, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float s = 1.0f / (1.0f + vexpf(-g[i]));
    float act = g[i] * s;
    du[i] = dy[i] * act;
    // d/dg [g·σ(g)] = σ(g)·(1 + g·(1 − σ(g)))
    dg[i] = (dy[i] * u[i]) * (s * (1.0f + g[i] * (1.0f - s)));
  }
}

// swiglu(gate, up, out): out = silu(gate) · up = (gate · σ(gate)) · up
static napi_value SwiGlu(napi_env env, napi_callback_info info) {
  const char* fn = "swiglu";
  napi_value argv[3];
  view_t g, u, o;
  if (!get_args(env, info, 3, argv, fn) || !get_f32(env, argv[0], &g, fn, "gate") || !get_f32(env, argv[1], &u, fn, "up") ||
      !get_f32(env, argv[2], &o, fn, "out"))
    return NULL;
  if (u.length != g.length || o.length < g.length) return throw_arg(env, fn, "gate, up and out must have one length");
  int64_t n = (int64_t)g.length, chunks = (n + 8191) / 8192;
  const float *pg = g.data, *pu = u.data;
  float* po = o.data;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t s = c * 8192;
    swiglu_chunk(pg + s, pu + s, po + s, n - s < 8192 ? n - s : 8192);
  }
  return NULL;
}

// swigluGrad(dy, gate, up, dGate, dUp)
static napi_value SwiGluGrad(napi_env env, napi_callback_info info) {
  const char* fn = "swigluGrad";
  napi_value argv[5];
  view_t dy, g, u, dg, du;
  if (!get_args(env, info, 5, argv, fn) || !get_f32(env, argv[0], &dy, fn, "dy") || !get_f32(env, argv[1], &g, fn, "gate") ||
      !get_f32(env, argv[2], &u, fn, "up") || !get_f32(env, argv[3], &dg, fn, "dGate") || !get_f32(env, argv[4], &du, fn, "dUp"))
    return NULL;
  if (u.length != g.length || dy.length != g.length || dg.length < g.length || du.length < g.length)
    return throw_arg(env, fn, "all operands must have one length");
  int64_t n = (int64_t)g.length, chunks = (n + 8191) / 8192;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t s = c * 8192, m = n - s < 8192 ? n - s : 8192;
    swiglu_grad_chunk((const float*)dy.data + s, (const float*)g.data + s, (const float*)u.data + s, (float*)dg.data + s,
                      (float*)du.data + s, m);
  }
  return NULL;
}

// One row of softmax(x·scale + mask), as softmax_row in reduce.c.
HOT static void masked_softmax_row(const float* a, const float* mk, float* b, int64_t n, float scale) {
  for (int64_t j = 0; j < n; j++) b[j] = a[j] * scale + mk[j];
  float m = row_max(b, n);
  float inv = (float)row_exp_sum(b, b, n, m);
  for (int64_t j = 0; j < n; j++) b[j] = b[j] / inv;
}

// dx = scale · p · (dy − Σ dy·p) for one row (the softmax backward, times the score scale).
HOT static void masked_softmax_grad_row(const float* dy, const float* p, float* dx, int64_t n, float scale) {
  float acc[16] = {0};
  int64_t body = n / 16 * 16;
  for (int64_t j = 0; j < body; j += 16)
    for (int k = 0; k < 16; k++) acc[k] += dy[j + k] * p[j + k];
  double s = 0;
  for (int k = 0; k < 16; k++) s += acc[k];
  for (int64_t j = body; j < n; j++) s += dy[j] * p[j];
  float fs = (float)s;
  for (int64_t j = 0; j < n; j++) dx[j] = ((dy[j] - fs) * p[j]) * scale;
}

// maskedSoftmax(x [outer, R, n], mask [R, n], out, R, scale): softmax over n of x·scale + mask.
static napi_value MaskedSoftmax(napi_env env, napi_callback_info info) {
  const char* fn = "maskedSoftmax";
  napi_value argv[5];
  view_t x, m, o;
  int64_t R;
  double scale;
  if (!get_args(env, info, 5, argv, fn) || !get_f32(env, argv[0], &x, fn, "x") || !get_f32(env, argv[1], &m, fn, "mask") ||
      !get_f32(env, argv[2], &o, fn, "out") || !get_i64(env, argv[3], &R, fn, "rows") || !get_f64(env, argv[4], &scale, fn, "scale"))
    return NULL;
  if (R < 1 || m.length % R || x.length % m.length || o.length < x.length) return throw_arg(env, fn, "bad shapes");
  int64_t n = (int64_t)m.length / R, rows = (int64_t)x.length / n;
  const float *px = x.data, *pm = m.data;
  float* po = o.data;
  float fs = (float)scale;
#pragma omp parallel for schedule(static) if ((int64_t)x.length > PAR_MIN)
  for (int64_t i = 0; i < rows; i++) masked_softmax_row(px + i * n, pm + (i % R) * n, po + i * n, n, fs);
  return NULL;
}

// maskedSoftmaxGrad(dy, probs, dx, n, scale)
static napi_value MaskedSoftmaxGrad(napi_env env, napi_callback_info info) {
  const char* fn = "maskedSoftmaxGrad";
  napi_value argv[5];
  view_t dy, p, dx;
  int64_t n;
  double scale;
  if (!get_args(env, info, 5, argv, fn) || !get_f32(env, argv[0], &dy, fn, "dy") || !get_f32(env, argv[1], &p, fn, "probs") ||
      !get_f32(env, argv[2], &dx, fn, "dx") || !get_i64(env, argv[3], &n, fn, "n") || !get_f64(env, argv[4], &scale, fn, "scale"))
    return NULL;
  if (n < 1 || p.length % n || dy.length != p.length || dx.length < p.length) return throw_arg(env, fn, "bad shapes");
  int64_t rows = (int64_t)p.length / n;
  float fs = (float)scale;
#pragma omp parallel for schedule(static) if ((int64_t)p.length > PAR_MIN)
  for (int64_t i = 0; i < rows; i++)
    masked_softmax_grad_row((const float*)dy.data + i * n, (const float*)p.data + i * n, (float*)dx.data + i * n, n, fs);
  return NULL;
}

// rope(x [outer, T, heads, d], cos [T, d], sin [T, d], out, T, inverse, heads): row i of x is position
// (i / heads) % T (heads = 1: head-major x [.., T, d]; heads = H: token-major x [.., T, H, d]);
// forward  out = x·cos + rotate_half(x)·sin, rotate_half(x) = cat(−x[d/2:], x[:d/2]);
// inverse (the gradient) out = x·cos + rotate_halfᵀ(x·sin), rotate_halfᵀ(z) = cat(z[d/2:], −z[:d/2]).
static napi_value Rope(napi_env env, napi_callback_info info) {
  const char* fn = "rope";
  napi_value argv[7];
  view_t x, c, sn, o;
  int64_t T, heads;
  bool inverse;
  if (!get_args(env, info, 7, argv, fn) || !get_f32(env, argv[0], &x, fn, "x") || !get_f32(env, argv[1], &c, fn, "cos") ||
      !get_f32(env, argv[2], &sn, fn, "sin") || !get_f32(env, argv[3], &o, fn, "out") || !get_i64(env, argv[4], &T, fn, "T") ||
      !get_bool(env, argv[5], &inverse, fn, "inverse") || !get_i64(env, argv[6], &heads, fn, "heads"))
    return NULL;
  if (T < 1 || heads < 1 || c.length != sn.length || c.length % T || x.length % c.length || o.length < x.length) return throw_arg(env, fn, "bad shapes");
  int64_t d = (int64_t)c.length / T, half = d / 2;
  if (d % 2) return throw_arg(env, fn, "head dim must be even");
  int64_t rows = (int64_t)x.length / d;
  const float *px = x.data, *pc = c.data, *ps = sn.data;
  float* po = o.data;
#pragma omp parallel for schedule(static) if ((int64_t)x.length > PAR_MIN)
  for (int64_t i = 0; i < rows; i++) {
    const float *a = px + i * d, *cc = pc + (i / heads % T) * d, *ss = ps + (i / heads % T) * d;
    float* b = po + i * d;
    if (!inverse) {
      for (int64_t j = 0; j < half; j++) b[j] = a[j] * cc[j] + (-a[j + half]) * ss[j];
      for (int64_t j = half; j < d; j++) b[j] = a[j] * cc[j] + a[j - half] * ss[j];
    } else {
      for (int64_t j = 0; j < half; j++) b[j] = a[j] * cc[j] + a[j + half] * ss[j + half];
      for (int64_t j = half; j < d; j++) b[j] = a[j] * cc[j] + -(a[j - half] * ss[j - half]);
    }
  }
  return NULL;
}

// log-sum-exp of one row.
HOT static float row_lse(const float* a, int64_t n) {
  float m = row_max(a, n);
  return m + (float)log(row_exp_sum(a, NULL, n, m));
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
  set_fn(env, exports, "swiglu", SwiGlu);
  set_fn(env, exports, "swigluGrad", SwiGluGrad);
  set_fn(env, exports, "maskedSoftmax", MaskedSoftmax);
  set_fn(env, exports, "maskedSoftmaxGrad", MaskedSoftmaxGrad);
  set_fn(env, exports, "rope", Rope);
  return exports;
}
