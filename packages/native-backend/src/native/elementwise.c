// Elementwise kernels: binary ops with NumPy broadcasting (given as per-operand element strides, 0 on
// a broadcast axis), unary float32 ops, casts. Axes that are contiguous in every operand are merged
// first, so a broadcast bias or a scalar is a flat inner loop the compiler vectorises.
#include <math.h>
#include <string.h>

#include "common.h"

enum {
  B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_POW, B_SQDIFF,
  B_LESS, B_LESS_EQ, B_GREATER, B_GREATER_EQ, B_EQUAL, B_NOT_EQUAL,
  B_FLOORDIV, B_MOD, B_ATAN2, B_COUNT
};



// tfjs's Mod: JavaScript's % (C's fmod), then shifted into the divisor's sign when the signs differ,
// all in double as the cpu kernel computes it.
static inline double js_mod(double a, double b) {
  double rem = fmod(a, b);
  if ((a < 0 && b < 0) || (a >= 0 && b >= 0)) return rem;
  return fmod(rem + b, b);
}

// Math.pow: unlike C's pow, pow(x, NaN) is NaN for every x and pow(±1, ±Inf) is NaN.
static inline float js_powf(float x, float y) {
  if (y != y || (isinf(y) && fabsf(x) == 1.0f)) return NAN;
  return powf(x, y);
}

// int32 product as the cpu kernel stores it: the double product (exact below 2^53), then ToInt32.
static inline int32_t js_imul(int32_t x, int32_t y) {
  int64_t p = (int64_t)x * (int64_t)y;
  if (p >= -(INT64_C(1) << 53) && p <= (INT64_C(1) << 53)) return (int32_t)(uint32_t)(uint64_t)p;
  return js_to_int32((double)x * (double)y);
}

// tfjs's int32 Mod in exact integer arithmetic (64-bit, so INT32_MIN % -1 and rem + b cannot overflow).
static inline int32_t js_imod(int32_t x, int32_t y) {
  if (y == 0) return 0;  // NaN in JavaScript, stored as 0
  int64_t a = x, b = y, rem = a % b;
  if ((a < 0 && b < 0) || (a >= 0 && b >= 0)) return (int32_t)rem;
  return (int32_t)((rem + b) % b);
}

#define FLOAT_OPS(X, Y)                                \
  switch (op) {                                        \
    case B_ADD: R = X + Y; break;                      \
    case B_SUB: R = X - Y; break;                      \
    case B_MUL: R = X * Y; break;                      \
    case B_DIV: R = X / Y; break;                      \
    case B_MAX: R = (X != X || Y != Y) ? NAN : (X > Y ? X : Y); break; \
    case B_MIN: R = (X != X || Y != Y) ? NAN : (X < Y ? X : Y); break; \
    case B_POW: R = js_powf(X, Y); break;              \
    case B_SQDIFF: { float t = X - Y; R = t * t; } break; \
    case B_FLOORDIV: R = floorf(X / Y); break;         \
    case B_MOD: R = (float)js_mod(X, Y); break;        \
    case B_ATAN2: R = atan2f(X, Y); break;             \
    default: R = 0;                                    \
  }

// One binary loop over an out of `rank` coalesced axes; T = input type, U = output type. The work is
// split into (outer row, inner chunk) pieces so a single long row (a same-shape op) still uses every
// thread.
#define CHUNK 16384
#define BINARY_LOOP(T, U, BODY)                                                            \
  do {                                                                                    \
    const T* pa = (const T*)A;                                                            \
    const T* pb = (const T*)B;                                                            \
    U* po = (U*)O;                                                                        \
    int64_t inner = dims[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1];                 \
    int64_t outer = total / (inner ? inner : 1);                                          \
    int64_t per_row = (inner + CHUNK - 1) / CHUNK;                                        \
    _Pragma("omp parallel for schedule(static) if (total > PAR_MIN)")                    \
    for (int64_t piece = 0; piece < outer * per_row; piece++) {                           \
      int64_t o = piece / per_row, i0 = (piece % per_row) * CHUNK;                        \
      int64_t i1 = inner - i0 < CHUNK ? inner : i0 + CHUNK;                               \
      int64_t offa = 0, offb = 0, rem = o;                                                \
      for (int d = rank - 2; d >= 0; d--) {                                               \
        int64_t idx = rem % dims[d];                                                      \
        rem /= dims[d];                                                                   \
        offa += idx * sa[d];                                                              \
        offb += idx * sb[d];                                                              \
      }                                                                                   \
      const T* xa = pa + offa;                                                            \
      const T* xb = pb + offb;                                                            \
      U* xo = po + o * inner;                                                             \
      if (ia == 1 && ib == 1) {                                                           \
        for (int64_t i = i0; i < i1; i++) { T X = xa[i], Y = xb[i]; U R; BODY; xo[i] = R; } \
      } else if (ia == 1 && ib == 0) {                                                    \
        T Y = xb[0];                                                                      \
        for (int64_t i = i0; i < i1; i++) { T X = xa[i]; U R; BODY; xo[i] = R; }          \
      } else if (ia == 0 && ib == 1) {                                                    \
        T X = xa[0];                                                                      \
        for (int64_t i = i0; i < i1; i++) { T Y = xb[i]; U R; BODY; xo[i] = R; }          \
      } else {                                                                            \
        for (int64_t i = i0; i < i1; i++) { T X = xa[i * ia], Y = xb[i * ib]; U R; BODY; xo[i] = R; } \
      }                                                                                   \
    }                                                                                     \
  } while (0)

#define CMP_OPS(X, Y)                   \
  switch (op) {                         \
    case B_LESS: R = X < Y; break;      \
    case B_LESS_EQ: R = X <= Y; break;  \
    case B_GREATER: R = X > Y; break;   \
    case B_GREATER_EQ: R = X >= Y; break; \
    case B_EQUAL: R = X == Y; break;    \
    default: R = X != Y;                \
  }

#define INT_OPS(X, Y)                                          \
  switch (op) {                                                \
    case B_ADD: R = (int32_t)((uint32_t)X + (uint32_t)Y); break; \
    case B_SUB: R = (int32_t)((uint32_t)X - (uint32_t)Y); break; \
    case B_MUL: R = js_imul(X, Y); break;                      \
    case B_MAX: R = X > Y ? X : Y; break;                      \
    case B_MIN: R = X < Y ? X : Y; break;                      \
    case B_FLOORDIV: R = js_to_int32(floor((double)X / (double)Y)); break; \
    case B_MOD: R = js_imod(X, Y); break;                      \
    default: R = 0;                                            \
  }

// binary(op, a, b, out, outShape, aStrides, bStrides): a, b both Float32Array or both Int32Array;
// out Float32Array / Int32Array for arithmetic, Uint8Array for comparisons.
static napi_value Binary(napi_env env, napi_callback_info info) {
  const char* fn = "binary";
  napi_value argv[7];
  if (!get_args(env, info, 7, argv, fn)) return NULL;
  int64_t op;
  view_t va, vb, vo;
  int64_t dims[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
  int r, ra, rb;
  if (!get_i64(env, argv[0], &op, fn, "op") || !get_view(env, argv[1], &va, fn, "a") ||
      !get_view(env, argv[2], &vb, fn, "b") || !get_view(env, argv[3], &vo, fn, "out") ||
      !get_dims(env, argv[4], dims, &r, fn, "outShape") || !get_dims(env, argv[5], sa, &ra, fn, "aStrides") ||
      !get_dims(env, argv[6], sb, &rb, fn, "bStrides"))
    return NULL;
  if (op < 0 || op >= B_COUNT) return throw_arg(env, fn, "unknown op");
  if (ra != r || rb != r) return throw_arg(env, fn, "strides must have the rank of outShape");
  if (va.type != vb.type) return throw_arg(env, fn, "a and b must have one type");
  int64_t total = 1;
  for (int i = 0; i < r; i++) total *= dims[i];
  if ((int64_t)vo.length < total) return throw_arg(env, fn, "out is shorter than outShape");
  if (total == 0) return NULL;
  int64_t ea = 0, eb = 0;
  for (int i = 0; i < r; i++) {
    ea += (dims[i] - 1) * sa[i];
    eb += (dims[i] - 1) * sb[i];
  }
  if (ea >= (int64_t)va.length || eb >= (int64_t)vb.length) return throw_arg(env, fn, "an input is shorter than its strides reach");
  int rank = coalesce_axes(r, dims, sa, sb);
  const void* A = va.data;
  const void* B = vb.data;
  void* O = vo.data;
  int cmp = op >= B_LESS && op <= B_NOT_EQUAL;
  if (cmp) {
    if (vo.type != napi_uint8_array) return throw_arg(env, fn, "a comparison writes a Uint8Array");
    if (va.type == napi_float32_array) BINARY_LOOP(float, uint8_t, CMP_OPS(X, Y));
    else if (va.type == napi_int32_array) BINARY_LOOP(int32_t, uint8_t, CMP_OPS(X, Y));
    else if (va.type == napi_uint8_array) BINARY_LOOP(uint8_t, uint8_t, CMP_OPS(X, Y));
    else return throw_arg(env, fn, "unsupported input type");
    return NULL;
  }
  if (vo.type != va.type) return throw_arg(env, fn, "out must have the inputs' type");
  // One loop per op (the switch outside the loop), so each inner loop is a plain vectorisable body.
  if (va.type == napi_float32_array) {
    switch (op) {
      case B_ADD: BINARY_LOOP(float, float, R = X + Y); break;
      case B_SUB: BINARY_LOOP(float, float, R = X - Y); break;
      case B_MUL: BINARY_LOOP(float, float, R = X * Y); break;
      case B_DIV: BINARY_LOOP(float, float, R = X / Y); break;
      case B_SQDIFF: BINARY_LOOP(float, float, { float t_ = X - Y; R = t_ * t_; }); break;
      default: BINARY_LOOP(float, float, FLOAT_OPS(X, Y));
    }
  }
  else if (va.type == napi_int32_array) {
    if (op == B_DIV || op == B_POW || op == B_SQDIFF || op == B_ATAN2) return throw_arg(env, fn, "op not defined on int32 here");
    BINARY_LOOP(int32_t, int32_t, INT_OPS(X, Y));
  } else return throw_arg(env, fn, "unsupported input type");
  return NULL;
}

enum {
  U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SIGMOID, U_SQUARE, U_ABS, U_RELU, U_TANH, U_RECIPROCAL,
  U_SIGN, U_FLOOR, U_CEIL, U_ROUND, U_SIN, U_COS, U_LOG1P, U_EXPM1, U_SOFTPLUS, U_ERF, U_STEP, U_ISNAN,
  U_ISINF, U_ISFINITE, U_COUNT
};

static inline float softplusf(float x) {
  // tfjs's threshold form: x above -th, exp(x) below th, th = log(eps) + 2 for float32's eps = 2^-23
  // (compared in double, as the cpu kernel does).
  const double th = -13.942385152878742;
  if ((double)x > -th) return x;
  if ((double)x < th) return expf(x);
  return log1pf(expf(x));
}
static inline float round_half_even(float x) {
  float r = rintf(x);  // default rounding mode: to nearest, ties to even (tfjs's Round)
  return r;
}

HOT static void exp_chunk(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = vexpf(x[i]);
}
// 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, e = exp(-|x|): 1 / (1 + exp(-x)) would overflow
// exp(-x) below x = -88.7 and give 0 where the result is still a (subnormal) float32.
HOT static void sigmoid_chunk(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float e = vexpf(-fabsf(x[i]));
    y[i] = (x[i] >= 0 ? 1.0f : e) / (1.0f + e);
  }
}

// f over x in chunks of 8192 elements, chunks spread over the OpenMP threads.
static void chunked(void (*f)(const float*, float*, int64_t), const float* x, float* y, int64_t n) {
  int64_t chunks = (n + 8191) / 8192;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t s = c * 8192;
    f(x + s, y + s, n - s < 8192 ? n - s : 8192);
  }
}

// unary(op, x Float32Array, out Float32Array | Uint8Array for isNaN/isInf/isFinite, alpha)
static napi_value Unary(napi_env env, napi_callback_info info) {
  const char* fn = "unary";
  napi_value argv[4];
  int64_t op;
  view_t x, o;
  double alpha;
  if (!get_args(env, info, 4, argv, fn) || !get_i64(env, argv[0], &op, fn, "op") ||
      !get_f32(env, argv[1], &x, fn, "x") || !get_view(env, argv[2], &o, fn, "out") ||
      !get_f64(env, argv[3], &alpha, fn, "alpha"))
    return NULL;
  if (op < 0 || op >= U_COUNT) return throw_arg(env, fn, "unknown op");
  if (o.length < x.length) return throw_arg(env, fn, "out is shorter than x");
  int64_t n = (int64_t)x.length;
  const float* px = (const float*)x.data;
  if (op == U_ISNAN || op == U_ISINF || op == U_ISFINITE) {
    if (o.type != napi_uint8_array) return throw_arg(env, fn, "isNaN/isInf/isFinite write a Uint8Array");
    uint8_t* po = (uint8_t*)o.data;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
      po[i] = op == U_ISNAN ? isnan(px[i]) : op == U_ISINF ? isinf(px[i]) != 0 : isfinite(px[i]) != 0;
    return NULL;
  }
  if (o.type != napi_float32_array) return throw_arg(env, fn, "out must be a Float32Array");
  float* po = (float*)o.data;
  float al = (float)alpha;
#define UN(EXPR)                                                  \
  _Pragma("omp parallel for schedule(static) if (n > PAR_MIN)") \
  for (int64_t i = 0; i < n; i++) {                               \
    float v = px[i];                                              \
    po[i] = (EXPR);                                               \
  }                                                               \
  break;
  if (op == U_EXP) {
    chunked(exp_chunk, px, po, n);
    return NULL;
  }
  if (op == U_SIGMOID) {
    chunked(sigmoid_chunk, px, po, n);
    return NULL;
  }
  switch (op) {
    case U_NEG: UN(-v)
    case U_LOG: UN(logf(v))
    case U_SQRT: UN(sqrtf(v))
    case U_RSQRT: UN(1.0f / sqrtf(v))
    case U_SQUARE: UN(v * v)
    case U_ABS: UN(fabsf(v))
    case U_RELU: UN(v != v ? v : (v > 0 ? v : 0.0f))
    case U_TANH: UN(tanhf(v))
    case U_RECIPROCAL: UN(1.0f / v)
    case U_SIGN: UN(v != v ? 0.0f : (v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f)))
    case U_FLOOR: UN(floorf(v))
    case U_CEIL: UN(ceilf(v))
    case U_ROUND: UN(round_half_even(v))
    case U_SIN: UN(sinf(v))
    case U_COS: UN(cosf(v))
    case U_LOG1P: UN(log1pf(v))
    case U_EXPM1: UN(expm1f(v))
    case U_SOFTPLUS: UN(softplusf(v))
    case U_ERF: UN(erff(v))
    case U_STEP: UN(v != v ? NAN : (v > 0 ? 1.0f : al))
  }
#undef UN
  return NULL;
}

// cast(x, out): between Float32Array, Int32Array and Uint8Array (bool: x != 0). float -> int truncates.
static napi_value Cast(napi_env env, napi_callback_info info) {
  const char* fn = "cast";
  napi_value argv[2];
  view_t x, o;
  if (!get_args(env, info, 2, argv, fn) || !get_view(env, argv[0], &x, fn, "x") || !get_view(env, argv[1], &o, fn, "out"))
    return NULL;
  if (o.length < x.length) return throw_arg(env, fn, "out is shorter than x");
  int64_t n = (int64_t)x.length;
#define CASTLOOP(T, U, EXPR)                                         \
  {                                                                  \
    const T* s = (const T*)x.data;                                   \
    U* d = (U*)o.data;                                               \
    _Pragma("omp parallel for schedule(static) if (n > PAR_MIN)")  \
    for (int64_t i = 0; i < n; i++) {                                \
      T v = s[i];                                                    \
      d[i] = (EXPR);                                                 \
    }                                                                \
    return NULL;                                                     \
  }
  // float -> int32 as Int32Array.from does (ToInt32: truncate and wrap; NaN and ±Inf give 0).
  if (x.type == napi_float32_array && o.type == napi_int32_array) CASTLOOP(float, int32_t, js_to_int32(v))
  if (x.type == napi_float32_array && o.type == napi_uint8_array) CASTLOOP(float, uint8_t, v != 0)
  if (x.type == napi_int32_array && o.type == napi_float32_array) CASTLOOP(int32_t, float, (float)v)
  if (x.type == napi_int32_array && o.type == napi_uint8_array) CASTLOOP(int32_t, uint8_t, v != 0)
  if (x.type == napi_uint8_array && o.type == napi_float32_array) CASTLOOP(uint8_t, float, (float)v)
  if (x.type == napi_uint8_array && o.type == napi_int32_array) CASTLOOP(uint8_t, int32_t, (int32_t)v)
  if (x.type == o.type) {
    memcpy(o.data, x.data, (size_t)n * elem_size(x.type));
    return NULL;
  }
#undef CASTLOOP
  return throw_arg(env, fn, "unsupported cast");
}

// select(cond Uint8Array, a, b, out, condInner): out[i] = cond[i / condInner] ? a[i] : b[i]
// (condInner 1: same shape; > 1: a rank-1 condition over the first axis, as tf.where allows).
static napi_value Select(napi_env env, napi_callback_info info) {
  const char* fn = "select";
  napi_value argv[5];
  view_t c, a, b, o;
  int64_t inner;
  if (!get_args(env, info, 5, argv, fn) || !get_view(env, argv[0], &c, fn, "cond") || !get_view(env, argv[1], &a, fn, "a") ||
      !get_view(env, argv[2], &b, fn, "b") || !get_view(env, argv[3], &o, fn, "out") ||
      !get_i64(env, argv[4], &inner, fn, "condInner"))
    return NULL;
  if (c.type != napi_uint8_array || a.type != b.type || a.type != o.type || elem_size(a.type) != 4 || inner < 1)
    return throw_arg(env, fn, "cond must be a Uint8Array and a, b, out one 4-byte type");
  int64_t n = (int64_t)o.length;
  if ((int64_t)a.length < n || (int64_t)b.length < n || (int64_t)c.length * inner < n) return throw_arg(env, fn, "an input is too short");
  const uint8_t* pc = c.data;
  const uint32_t* pa = a.data;
  const uint32_t* pb = b.data;
  uint32_t* po = o.data;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) po[i] = pc[i / inner] ? pa[i] : pb[i];
  return NULL;
}

// fill(out, value): float32, int32 or uint8, the value converted as TypedArray.prototype.fill does
// (ToInt32 for int32, its low 8 bits for uint8).
static napi_value Fill(napi_env env, napi_callback_info info) {
  const char* fn = "fill";
  napi_value argv[2];
  view_t o;
  double v;
  if (!get_args(env, info, 2, argv, fn) || !get_view(env, argv[0], &o, fn, "out") || !get_f64(env, argv[1], &v, fn, "value"))
    return NULL;
  int64_t n = (int64_t)o.length;
  if (o.type == napi_float32_array) {
    float f = (float)v;
    float* p = o.data;
    for (int64_t i = 0; i < n; i++) p[i] = f;
  } else if (o.type == napi_int32_array) {
    int32_t f = js_to_int32(v);
    int32_t* p = o.data;
    for (int64_t i = 0; i < n; i++) p[i] = f;
  } else if (o.type == napi_uint8_array) {
    memset(o.data, (uint8_t)js_to_int32(v), (size_t)n);
  } else
    return throw_arg(env, fn, "unsupported type");
  return NULL;
}

napi_value init_elementwise(napi_env env, napi_value exports) {
  set_fn(env, exports, "binary", Binary);
  set_fn(env, exports, "unary", Unary);
  set_fn(env, exports, "cast", Cast);
  set_fn(env, exports, "select", Select);
  set_fn(env, exports, "fill", Fill);
  return exports;
}
