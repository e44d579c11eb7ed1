// Causal self-attention, forward and backward, on token-major tensors: q [B, T, H, d], k/v [B, T, KV, d]
// (the layout the q/k/v projections produce, so no head transposes), H a multiple of KV (query head h
// reads key/value head h / (H / KV), as HF's repeat_kv). Query rows are taken in blocks of BLOCK; a
// block multiplies only the keys it can see (0 .. its last row), so the masked upper triangle is never
// computed: about half the products of the full score matrix. A block's scores [BLOCK, keys] live in a
// per-thread buffer; the [T, T] score and probability matrices are never stored. The products are
// oneDNN's sgemm on strided rows (lda = H·d); called inside an OpenMP region it runs on its thread.
//
// Forward, per (b, h, block):  S = scale·Q Kᵀ,  P = softmax over the visible keys,  O = P V,
//   lse = max + log Σ exp (kept for backward).
// Backward (FlashAttention-2's equations), per (b, kv head) so that the dK/dV accumulations of the
// query heads sharing a key/value head stay on one thread:
//   P = exp(scale·Q Kᵀ − lse),  D = rowsum(dO ∘ O),  dP = dO Vᵀ,  dS = P ∘ (dP − D),
//   dQ = scale·dS K,  dK += scale·dSᵀ Q,  dV += Pᵀ dO.
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BLOCK 64

typedef struct {
  int64_t B, T, H, KV, d;
  float scale;
} attn_t;

static int read_dims(napi_env env, napi_value* argv, attn_t* a, const char* fn) {
  double scale;
  if (!get_i64(env, argv[0], &a->B, fn, "B") || !get_i64(env, argv[1], &a->T, fn, "T") ||
      !get_i64(env, argv[2], &a->H, fn, "H") || !get_i64(env, argv[3], &a->KV, fn, "KV") ||
      !get_i64(env, argv[4], &a->d, fn, "d") || !get_f64(env, argv[5], &scale, fn, "scale"))
    return 0;
  a->scale = (float)scale;
  if (a->B < 0 || a->T < 0 || a->H < 1 || a->KV < 1 || a->d < 1 || a->H % a->KV) {
    throw_arg(env, fn, "B, T >= 0; H a multiple of KV >= 1; d >= 1");
    return 0;
  }
  return 1;
}

static int long_enough(const view_t* v, int64_t n) { return (int64_t)v->length >= n; }

// Row r of a block starting at t0 sees keys 0 .. t0 + r. S holds [n, e] with e = t0 + n.
// Writes P (in place of S) and, when lse is given, the row's log-sum-exp.
HOT static void causal_softmax_rows(float* S, int64_t n, int64_t e, int64_t t0, float* lse) {
  for (int64_t r = 0; r < n; r++) {
    float* s = S + r * e;
    int64_t vis = t0 + r + 1;
    float m = row_max(s, vis);
    double sum = row_exp_sum(s, s, vis, m);
    float inv = (float)sum;
    for (int64_t j = 0; j < vis; j++) s[j] = s[j] / inv;
    for (int64_t j = vis; j < e; j++) s[j] = 0.0f;
    if (lse) lse[r] = m + (float)log(sum);
  }
}

// P = exp(S − lse) on the visible keys, 0 beyond.
HOT static void causal_probs_from_lse(float* S, int64_t n, int64_t e, int64_t t0, const float* lse) {
  for (int64_t r = 0; r < n; r++) {
    float* s = S + r * e;
    int64_t vis = t0 + r + 1;
    float l = lse[r];
    for (int64_t j = 0; j < vis; j++) s[j] = vexpf(s[j] - l);
    for (int64_t j = vis; j < e; j++) s[j] = 0.0f;
  }
}

// dS = P ∘ (dP − D) in place of dP.
HOT static void softmax_backward_rows(const float* P, float* dP, int64_t n, int64_t e, const float* D) {
  for (int64_t r = 0; r < n; r++) {
    const float* p = P + r * e;
    float* g = dP + r * e;
    float dr = D[r];
    for (int64_t j = 0; j < e; j++) g[j] = p[j] * (g[j] - dr);
  }
}

// causalAttention(B, T, H, KV, d, scale, q, k, v, out, lse [B, H, T])
static napi_value CausalAttention(napi_env env, napi_callback_info info) {
  const char* fn = "causalAttention";
  napi_value argv[11];
  attn_t a;
  view_t q, k, v, o, l;
  if (!get_args(env, info, 11, argv, fn) || !read_dims(env, argv, &a, fn) || !get_f32(env, argv[6], &q, fn, "q") ||
      !get_f32(env, argv[7], &k, fn, "k") || !get_f32(env, argv[8], &v, fn, "v") || !get_f32(env, argv[9], &o, fn, "out") ||
      !get_f32(env, argv[10], &l, fn, "lse"))
    return NULL;
  const int64_t B = a.B, T = a.T, H = a.H, KV = a.KV, d = a.d, rep = H / KV;
  if (!long_enough(&q, B * T * H * d) || !long_enough(&k, B * T * KV * d) || !long_enough(&v, B * T * KV * d) ||
      !long_enough(&o, B * T * H * d) || !long_enough(&l, B * H * T))
    return throw_arg(env, fn, "an operand is shorter than its shape");
  const int64_t nb = (T + BLOCK - 1) / BLOCK, tasks = B * H * nb;
  const float *pq = q.data, *pk = k.data, *pv = v.data;
  float *po = o.data, *pl = l.data;
  int failed = 0;
#pragma omp parallel if (tasks > 1)
  {
    float* S = malloc(sizeof(float) * BLOCK * (T > 0 ? T : 1));
    if (!S) failed = 1;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; task++) {
      if (!S) continue;
      // Largest blocks first: the dynamic schedule then ends with the small ones.
      int64_t blk = nb - 1 - task % nb, bh = task / nb, b = bh / H, h = bh % H, g = h / rep;
      int64_t t0 = blk * BLOCK, n = T - t0 < BLOCK ? T - t0 : BLOCK, e = t0 + n;
      const float* Q = pq + ((b * T + t0) * H + h) * d;
      const float* K = pk + (b * T * KV + g) * d;
      const float* V = pv + (b * T * KV + g) * d;
      dnnl_sgemm('N', 'T', n, e, d, a.scale, Q, H * d, K, KV * d, 0.0f, S, e);
      causal_softmax_rows(S, n, e, t0, pl + (b * H + h) * T + t0);
      dnnl_sgemm('N', 'N', n, d, e, 1.0f, S, e, V, KV * d, 0.0f, po + ((b * T + t0) * H + h) * d, H * d);
    }
    free(S);
  }
  if (failed) napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory for attention scratch");
  return NULL;
}

// causalAttentionGrad(B, T, H, KV, d, scale, dout, q, k, v, out, lse, dq, dk, dv)
static napi_value CausalAttentionGrad(napi_env env, napi_callback_info info) {
  const char* fn = "causalAttentionGrad";
  napi_value argv[15];
  attn_t a;
  view_t dO, q, k, v, o, l, dq, dk, dv;
  if (!get_args(env, info, 15, argv, fn) || !read_dims(env, argv, &a, fn) || !get_f32(env, argv[6], &dO, fn, "dout") ||
      !get_f32(env, argv[7], &q, fn, "q") || !get_f32(env, argv[8], &k, fn, "k") || !get_f32(env, argv[9], &v, fn, "v") ||
      !get_f32(env, argv[10], &o, fn, "out") || !get_f32(env, argv[11], &l, fn, "lse") ||
      !get_f32(env, argv[12], &dq, fn, "dq") || !get_f32(env, argv[13], &dk, fn, "dk") || !get_f32(env, argv[14], &dv, fn, "dv"))
    return NULL;
  const int64_t B = a.B, T = a.T, H = a.H, KV = a.KV, d = a.d, rep = H / KV;
  const int64_t nq = B * T * H * d, nk = B * T * KV * d;
  if (!long_enough(&dO, nq) || !long_enough(&q, nq) || !long_enough(&k, nk) || !long_enough(&v, nk) ||
      !long_enough(&o, nq) || !long_enough(&l, B * H * T) || !long_enough(&dq, nq) || !long_enough(&dk, nk) ||
      !long_enough(&dv, nk))
    return throw_arg(env, fn, "an operand is shorter than its shape");
  const int64_t nb = (T + BLOCK - 1) / BLOCK, tasks = B * KV;
  const float *pdo = dO.data, *pq = q.data, *pk = k.data, *pv = v.data, *po = o.data, *pl = l.data;
  float *pdq = dq.data, *pdk = dk.data, *pdv = dv.data;
  int failed = 0;
#pragma omp parallel if (tasks > 1)
  {
    size_t t1 = T > 0 ? (size_t)T : 1;
    float* P = malloc(sizeof(float) * BLOCK * t1);
    float* G = malloc(sizeof(float) * BLOCK * t1);
    float* D = malloc(sizeof(float) * BLOCK);
    if (!P || !G || !D) failed = 1;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; task++) {
      if (!P || !G || !D) continue;
      int64_t b = task / KV, g = task % KV;
      const float* K = pk + (b * T * KV + g) * d;
      const float* V = pv + (b * T * KV + g) * d;
      float* dK = pdk + (b * T * KV + g) * d;
      float* dV = pdv + (b * T * KV + g) * d;
      for (int64_t t = 0; t < T; t++) {
        memset(dK + t * KV * d, 0, sizeof(float) * d);
        memset(dV + t * KV * d, 0, sizeof(float) * d);
      }
      for (int64_t h = g * rep; h < (g + 1) * rep; h++)
        for (int64_t blk = 0; blk < nb; blk++) {
          int64_t t0 = blk * BLOCK, n = T - t0 < BLOCK ? T - t0 : BLOCK, e = t0 + n;
          int64_t row0 = ((b * T + t0) * H + h) * d;
          const float *Q = pq + row0, *dOut = pdo + row0, *Out = po + row0;
          for (int64_t r = 0; r < n; r++) {
            const float *x = dOut + r * H * d, *y = Out + r * H * d;
            double s = 0;
            for (int64_t c = 0; c < d; c++) s += (double)x[c] * y[c];
            D[r] = (float)s;
          }
          dnnl_sgemm('N', 'T', n, e, d, a.scale, Q, H * d, K, KV * d, 0.0f, P, e);
          causal_probs_from_lse(P, n, e, t0, pl + (b * H + h) * T + t0);
          dnnl_sgemm('N', 'T', n, e, d, 1.0f, dOut, H * d, V, KV * d, 0.0f, G, e);
          softmax_backward_rows(P, G, n, e, D);
          dnnl_sgemm('N', 'N', n, d, e, a.scale, G, e, K, KV * d, 0.0f, pdq + row0, H * d);
          dnnl_sgemm('T', 'N', e, d, n, a.scale, G, e, Q, H * d, 1.0f, dK, KV * d);
          dnnl_sgemm('T', 'N', e, d, n, 1.0f, P, e, dOut, H * d, 1.0f, dV, KV * d);
        }
    }
    free(P);
    free(G);
    free(D);
  }
  if (failed) napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory for attention scratch");
  return NULL;
}

napi_value init_attention(napi_env env, napi_value exports) {
  set_fn(env, exports, "causalAttention", CausalAttention);
  set_fn(env, exports, "causalAttentionGrad", CausalAttentionGrad);
  return exports;
}
