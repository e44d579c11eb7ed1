// Reductions over the middle axis of x viewed as [outer, red, inner] (any contiguous run of axes; the
// backend transposes first when the reduced axes are not contiguous), softmax over the last axis, and
// arg-max / arg-min. Float sums accumulate in double, as tfjs's cpu backend does.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_ALL, R_ANY, R_COUNT };


// What the cpu kernels give for a reduction over no elements: they start from the first element of
// the (empty) row, which reads `undefined` (NaN in a Float32Array, 0 in an Int32Array / Uint8Array),
// so Max / Min are NaN (float32) or 0 (int32) and All is false; Sum, Mean (a sum of x / n) are 0,
// Prod is 1.
static void reduce_empty(int64_t op, view_t* o, int64_t n) {
  if (o->type == napi_float32_array) {
    float v = op == R_PROD ? 1.0f : (op == R_MAX || op == R_MIN) ? NAN : 0.0f;
    for (int64_t i = 0; i < n; i++) ((float*)o->data)[i] = v;
  } else if (o->type == napi_int32_array) {
    int32_t v = op == R_PROD ? 1 : 0;
    for (int64_t i = 0; i < n; i++) ((int32_t*)o->data)[i] = v;
  } else {
    memset(o->data, 0, (size_t)n);
  }
}

// reduce(op, x, out, outer, red, inner): Float32Array or Int32Array (sum/max/min/prod/mean), Uint8Array (all/any).
static napi_value Reduce(napi_env env, napi_callback_info info) {
  const char* fn = "reduce";
  napi_value argv[6];
  int64_t op, outer, red, inner;
  view_t x, o;
  if (!get_args(env, info, 6, argv, fn) || !get_i64(env, argv[0], &op, fn, "op") || !get_view(env, argv[1], &x, fn, "x") ||
      !get_view(env, argv[2], &o, fn, "out") || !get_i64(env, argv[3], &outer, fn, "outer") ||
      !get_i64(env, argv[4], &red, fn, "red") || !get_i64(env, argv[5], &inner, fn, "inner"))
    return NULL;
  if (op < 0 || op >= R_COUNT || outer < 0 || red < 0 || inner < 0) return throw_arg(env, fn, "bad op or sizes");
  if ((int64_t)x.length < outer * red * inner || (int64_t)o.length < outer * inner) return throw_arg(env, fn, "an operand is shorter than its shape");
  if (x.type != o.type) return throw_arg(env, fn, "x and out must have one type");
  int64_t n = outer * inner;
  if (red == 0) {
    reduce_empty(op, &o, n);
    return NULL;
  }
#define RLOOP(T, ACC, INIT, STEP, FINISH)                                                   \
  {                                                                                         \
    const T* px = (const T*)x.data;                                                         \
    T* po = (T*)o.data;                                                                     \
    if (inner == 1) {                                                                       \
      _Pragma("omp parallel for schedule(static) if (outer * red > PAR_MIN)")              \
      for (int64_t r = 0; r < outer; r++) {                                                 \
        const T* row = px + r * red;                                                        \
        ACC acc = INIT;                                                                     \
        for (int64_t j = 0; j < red; j++) { T v = row[j]; STEP; }                           \
        FINISH;                                                                             \
        po[r] = (T)acc;                                                                     \
      }                                                                                     \
    } else {                                                                                \
      /* accumulate rows of `inner` contiguous values; parallel over outer x inner blocks */ \
      int64_t blocks = (inner + 255) / 256;                                                 \
      _Pragma("omp parallel for schedule(static) if (outer * red * inner > PAR_MIN)")      \
      for (int64_t ob = 0; ob < outer * blocks; ob++) {                                     \
        int64_t oo = ob / blocks, i0 = (ob % blocks) * 256;                                 \
        int64_t w = inner - i0 < 256 ? inner - i0 : 256;                                    \
        ACC accs[256];                                                                      \
        for (int64_t i = 0; i < w; i++) accs[i] = INIT;                                     \
        for (int64_t j = 0; j < red; j++) {                                                 \
          const T* row = px + (oo * red + j) * inner + i0;                                  \
          for (int64_t i = 0; i < w; i++) { ACC acc = accs[i]; T v = row[i]; STEP; accs[i] = acc; } \
        }                                                                                   \
        for (int64_t i = 0; i < w; i++) { ACC acc = accs[i]; FINISH; po[oo * inner + i0 + i] = (T)acc; } \
      }                                                                                     \
    }                                                                                       \
    return NULL;                                                                            \
  }
  if (x.type == napi_float32_array) {
    switch (op) {
      case R_SUM: RLOOP(float, double, 0.0, acc += v, (void)0)
      case R_MEAN: RLOOP(float, double, 0.0, acc += v, acc = acc / red)
      case R_PROD: RLOOP(float, double, 1.0, acc *= v, (void)0)
      case R_MAX: RLOOP(float, float, -INFINITY, if (v > acc || v != v) acc = (acc != acc) ? acc : v, (void)0)
      case R_MIN: RLOOP(float, float, INFINITY, if (v < acc || v != v) acc = (acc != acc) ? acc : v, (void)0)
    }
  } else if (x.type == napi_int32_array) {
    switch (op) {
      case R_SUM: RLOOP(int32_t, int64_t, 0, acc += v, (void)0)
      // In double, then ToInt32, as the cpu kernel (a product past 2^53 is rounded before the wrap).
      case R_PROD: RLOOP(int32_t, double, 1.0, acc *= v, acc = js_to_int32(acc))
      case R_MAX: RLOOP(int32_t, int32_t, INT32_MIN, if (v > acc) acc = v, (void)0)
      case R_MIN: RLOOP(int32_t, int32_t, INT32_MAX, if (v < acc) acc = v, (void)0)
    }
  } else if (x.type == napi_uint8_array) {
    switch (op) {
      case R_ALL: RLOOP(uint8_t, uint8_t, 1, acc = acc && v, (void)0)
      case R_ANY: RLOOP(uint8_t, uint8_t, 0, acc = acc || v, (void)0)
    }
  }
#undef RLOOP
  return throw_arg(env, fn, "op not defined for this type");
}

// argReduce(isMax, x Float32Array, out Int32Array, outer, red, inner): first index of the max / min,
// as the cpu kernel finds it: a strictly greater (smaller) value replaces the best so far, so a NaN is
// never picked except at index 0, where it stays (nothing compares greater than NaN). 0 when red = 0.
static napi_value ArgReduce(napi_env env, napi_callback_info info) {
  const char* fn = "argReduce";
  napi_value argv[6];
  bool is_max;
  int64_t outer, red, inner;
  view_t x, o;
  if (!get_args(env, info, 6, argv, fn) || !get_bool(env, argv[0], &is_max, fn, "isMax") || !get_f32(env, argv[1], &x, fn, "x") ||
      !get_view(env, argv[2], &o, fn, "out") || !get_i64(env, argv[3], &outer, fn, "outer") ||
      !get_i64(env, argv[4], &red, fn, "red") || !get_i64(env, argv[5], &inner, fn, "inner"))
    return NULL;
  if (o.type != napi_int32_array || (int64_t)x.length < outer * red * inner || (int64_t)o.length < outer * inner)
    return throw_arg(env, fn, "out must be an Int32Array; operands as long as their shapes");
  const float* px = x.data;
  int32_t* po = o.data;
#pragma omp parallel for schedule(static) if (outer * red * inner > PAR_MIN)
  for (int64_t oi = 0; oi < outer * inner; oi++) {
    int64_t oo = oi / inner, i = oi % inner;
    const float* p = px + oo * red * inner + i;
    int32_t bi = 0;
    if (red > 0) {
      float best = p[0];
      for (int64_t j = 1; j < red; j++) {
        float v = p[j * inner];
        if (is_max ? v > best : v < best) {
          best = v;
          bi = (int32_t)j;
        }
      }
    }
    po[oi] = bi;
  }
  return NULL;
}

// One row: max, then exp(x − max) (written to b) and its sum in 16 float lanes (so the loops
// vectorise without reassociating one serial sum), the lanes added in double.
HOT static void softmax_row(const float* a, float* b, int64_t cols, int lg) {
  float m = row_max(a, cols);
  double s = row_exp_sum(a, lg ? NULL : b, cols, m);
  if (lg) {
    float ls = (float)log(s);
    for (int64_t j = 0; j < cols; j++) b[j] = a[j] - m - ls;
  } else {
    float inv = (float)s;
    for (int64_t j = 0; j < cols; j++) b[j] = b[j] / inv;
  }
}

// softmax(x, out, rows, cols, log): softmax (or log-softmax) of each row of [rows, cols].
static napi_value Softmax(napi_env env, napi_callback_info info) {
  const char* fn = "softmax";
  napi_value argv[5];
  view_t x, o;
  int64_t rows, cols;
  bool lg;
  if (!get_args(env, info, 5, argv, fn) || !get_f32(env, argv[0], &x, fn, "x") || !get_f32(env, argv[1], &o, fn, "out") ||
      !get_i64(env, argv[2], &rows, fn, "rows") || !get_i64(env, argv[3], &cols, fn, "cols") ||
      !get_bool(env, argv[4], &lg, fn, "log"))
    return NULL;
  if ((int64_t)x.length < rows * cols || (int64_t)o.length < rows * cols) return throw_arg(env, fn, "an operand is shorter than rows x cols");
  const float* px = x.data;
  float* po = o.data;
#pragma omp parallel for schedule(static) if (rows * cols > PAR_MIN)
  for (int64_t r = 0; r < rows; r++) softmax_row(px + r * cols, po + r * cols, cols, lg);
  return NULL;
}

napi_value init_reduce(napi_env env, napi_value exports) {
  set_fn(env, exports, "reduce", Reduce);
  set_fn(env, exports, "argReduce", ArgReduce);
  set_fn(env, exports, "softmax", Softmax);
  return exports;
}
