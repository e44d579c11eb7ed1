// Shared helpers of the native backend's Node-API addon: argument readers and the error convention
// (every bad argument is a RangeError with code ERR_NATIVE_ARGUMENT naming the call and the argument).
#ifndef BIOMED_NATIVE_COMMON_H
#define BIOMED_NATIVE_COMMON_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>

#define MAX_RANK 8

#define NAPI_OK(call)                                                    \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error(env, NULL, "native-backend: Node-API call failed"); \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

// Reads up to `max` arguments into argv; throws (and returns 0) unless exactly `want` were given.
int get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, const char* fn);
napi_value throw_arg(napi_env env, const char* fn, const char* what);

typedef struct {
  void* data;
  size_t length;  // elements
  napi_typedarray_type type;
} view_t;

// Any typed array: pointer, element count and type (0 and a thrown error when v is none).
int get_view(napi_env env, napi_value v, view_t* out, const char* fn, const char* name);
// A Float32Array / Int32Array / Uint8Array / Uint16Array only.
int get_f32(napi_env env, napi_value v, view_t* out, const char* fn, const char* name);
int get_i64(napi_env env, napi_value v, int64_t* out, const char* fn, const char* name);
int get_f64(napi_env env, napi_value v, double* out, const char* fn, const char* name);
int get_bool(napi_env env, napi_value v, bool* out, const char* fn, const char* name);
// A JS array of at most MAX_RANK whole numbers; returns its length in *n.
int get_dims(napi_env env, napi_value v, int64_t* dims, int* n, const char* fn, const char* name);
size_t elem_size(napi_typedarray_type t);
// Merges axes that are contiguous in both strided operands (s1, s2: element strides per axis) and drops
// size-1 axes, in place; returns the new rank (>= 1). A dense output is contiguous by construction.
int coalesce_axes(int r, int64_t* dims, int64_t* s1, int64_t* s2);

// Module pieces: each adds its functions to `exports`.
napi_value init_memory(napi_env env, napi_value exports);
napi_value init_matmul(napi_env env, napi_value exports);
napi_value init_elementwise(napi_env env, napi_value exports);
napi_value init_reduce(napi_env env, napi_value exports);
napi_value init_layout(napi_env env, napi_value exports);
napi_value init_fused(napi_env env, napi_value exports);
napi_value init_attention(napi_env env, napi_value exports);
napi_value init_optim(napi_env env, napi_value exports);

void set_fn(napi_env env, napi_value exports, const char* name, napi_callback cb);

// Loops smaller than this stay on one thread (thread wake-up costs more than the work).
#define PAR_MIN 16384

// bfloat16 <-> float32: round to nearest even; NaN stays NaN (quiet bit kept).
// Branch-free, so loops of it vectorise.
static inline uint16_t f32_to_bf16(float f) {
  union { float f; uint32_t u; } v = {f};
  uint32_t rounded = (v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16;
  return (uint16_t)((v.u & 0x7fffffffu) > 0x7f800000u ? (v.u >> 16) | 0x40u : rounded);
}
static inline float bf16_to_f32(uint16_t h) {
  union { uint32_t u; float f; } v = {(uint32_t)h << 16};
  return v.f;
}
// JavaScript's ToInt32 (what storing a number into an Int32Array does): truncate, wrap modulo 2^32;
// NaN and ±Inf give 0. The cpu backend's int32 results are all stored that way.
static inline int32_t js_to_int32(double d) {
  if (d > -2147483649.0 && d < 2147483648.0) return (int32_t)d;
  if (!isfinite(d)) return 0;
  d = fmod(trunc(d), 4294967296.0);
  if (d < 0) d += 4294967296.0;
  return (int32_t)(uint32_t)d;
}

// Hot loops are compiled three times (AVX-512, AVX2+FMA, baseline x86-64) and the loader picks the one
// this CPU runs: the addon builds on one machine and may run on another of the same architecture.
// OpenMP regions stay outside the cloned functions (they call them on chunks).
#if defined(__x86_64__) && !defined(BIOMED_NO_CLONES)
#define HOT __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define HOT
#endif

// expf without a call, so loops around it vectorise: Cephes' minimax polynomial on
// r = x − n·ln2 (|r| ≤ ln2/2, ln2 split in two parts), then 2^n applied as two powers of two so
// results in the subnormal range and overflow to +Inf come out right. Error ≤ 2 ulp in the normal
// range (checked against exp in double over all float32 in [-104, 89] by the conformance tests);
// NaN in, NaN out; exp(-Inf) = 0, exp(+Inf) = +Inf.
static inline __attribute__((always_inline)) float vexpf(float x) {
  float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  float t = xc * 1.44269504088896341f;
  float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest (|t| < 2^22)
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t ni = (int32_t)n;
  int32_t h = ni >> 1;
  union { uint32_t u; float f; } s1 = {(uint32_t)(h + 127) << 23}, s2 = {(uint32_t)(ni - h + 127) << 23};
  float y = (p * s1.f) * s2.f;
  return x != x ? x : y;
}

// Row helpers of the softmax-shaped kernels (softmax, log-softmax, masked softmax, log-sum-exp): 16
// independent lanes so the loops vectorise without reassociating one serial float sum; lanes are added
// in double. row_max ignores NaN (the exp of a NaN element brings it back).
static inline __attribute__((always_inline)) float row_max(const float* a, int64_t n) {
  float mx[16];
  for (int k = 0; k < 16; k++) mx[k] = -INFINITY;
  int64_t body = n / 16 * 16;
  for (int64_t j = 0; j < body; j += 16)
    for (int k = 0; k < 16; k++) mx[k] = a[j + k] > mx[k] ? a[j + k] : mx[k];
  float m = -INFINITY;
  for (int k = 0; k < 16; k++) m = mx[k] > m ? mx[k] : m;
  for (int64_t j = body; j < n; j++) m = a[j] > m ? a[j] : m;
  return m;
}

// Σ exp(a[j] − m); with `out`, each exp(a[j] − m) is also stored in out[j].
static inline __attribute__((always_inline)) double row_exp_sum(const float* a, float* out, int64_t n, float m) {
  float acc[16] = {0};
  int64_t body = n / 16 * 16;
  double s = 0;
  if (out) {
    for (int64_t j = 0; j < body; j += 16)
      for (int k = 0; k < 16; k++) {
        float e = vexpf(a[j + k] - m);
        out[j + k] = e;
        acc[k] += e;
      }
    for (int64_t j = body; j < n; j++) s += (out[j] = vexpf(a[j] - m));
  } else {
    for (int64_t j = 0; j < body; j += 16)
      for (int k = 0; k < 16; k++) acc[k] += vexpf(a[j + k] - m);
    for (int64_t j = body; j < n; j++) s += vexpf(a[j] - m);
  }
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}
#endif
