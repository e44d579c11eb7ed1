// Data movement: one strided copy (transpose, slice, concat, pad, broadcast are all views of it),
// gather along an axis (bfloat16 rows widened to float32 on the way), segment sums, one-hot.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

// copy(src, dst, shape, srcStrides, srcOffset, dstStrides, dstOffset): elements, not bytes; src and
// dst of one element size (a Uint16Array src into a Float32Array dst widens bfloat16).
static napi_value Copy(napi_env env, napi_callback_info info) {
  const char* fn = "copy";
  napi_value argv[7];
  view_t s, d;
  int64_t dims[MAX_RANK], ss[MAX_RANK], ds[MAX_RANK], so, dof;
  int r, rs, rd;
  if (!get_args(env, info, 7, argv, fn) || !get_view(env, argv[0], &s, fn, "src") || !get_view(env, argv[1], &d, fn, "dst") ||
      !get_dims(env, argv[2], dims, &r, fn, "shape") || !get_dims(env, argv[3], ss, &rs, fn, "srcStrides") ||
      !get_i64(env, argv[4], &so, fn, "srcOffset") || !get_dims(env, argv[5], ds, &rd, fn, "dstStrides") ||
      !get_i64(env, argv[6], &dof, fn, "dstOffset"))
    return NULL;
  int widen = s.type == napi_uint16_array && d.type == napi_float32_array;
  size_t es = elem_size(s.type);
  if (!widen && es != elem_size(d.type)) return throw_arg(env, fn, "src and dst must have one element size");
  if (rs != r || rd != r) return throw_arg(env, fn, "strides must have the rank of shape");
  int64_t total = 1, es_ = so, ed = dof;
  for (int i = 0; i < r; i++) {
    total *= dims[i];
    if (dims[i] > 0) {
      es_ += (dims[i] - 1) * ss[i];
      ed += (dims[i] - 1) * ds[i];
    }
  }
  if (total == 0) return NULL;
  if (so < 0 || dof < 0 || es_ >= (int64_t)s.length || ed >= (int64_t)d.length || es_ < 0 || ed < 0)
    return throw_arg(env, fn, "the copy reaches outside src or dst");
  // Merge axes contiguous in both; drop size-1 axes.
  int n = coalesce_axes(r, dims, ss, ds);
  const int64_t *D = dims, *S = ss, *T = ds;
  int64_t inner = D[n - 1], si = S[n - 1], di = T[n - 1];
  int64_t outer = total / inner;
  const char* ps = (const char*)s.data;
  char* pd = (char*)d.data;
#pragma omp parallel for schedule(static) if (total > PAR_MIN && outer > 1)
  for (int64_t o = 0; o < outer; o++) {
    int64_t a = so, b = dof, rem = o;
    for (int k = n - 2; k >= 0; k--) {
      int64_t idx = rem % D[k];
      rem /= D[k];
      a += idx * S[k];
      b += idx * T[k];
    }
    if (widen) {
      const uint16_t* x = (const uint16_t*)ps + a;
      float* y = (float*)pd + b;
      for (int64_t i = 0; i < inner; i++) y[i * di] = bf16_to_f32(x[i * si]);
    } else if (si == 1 && di == 1) {
      memcpy(pd + b * es, ps + a * es, (size_t)inner * es);
    } else if (es == 4) {
      const uint32_t* x = (const uint32_t*)ps + a;
      uint32_t* y = (uint32_t*)pd + b;
      for (int64_t i = 0; i < inner; i++) y[i * di] = x[i * si];
    } else if (es == 2) {
      const uint16_t* x = (const uint16_t*)ps + a;
      uint16_t* y = (uint16_t*)pd + b;
      for (int64_t i = 0; i < inner; i++) y[i * di] = x[i * si];
    } else {
      for (int64_t i = 0; i < inner; i++) memcpy(pd + (b + i * di) * es, ps + (a + i * si) * es, es);
    }
  }
  return NULL;
}

// gather(x, indices Int32Array, out, outer, axisDim, inner): out[o, j, :] = x[o, indices[j], :].
// Returns -1, or the position of the first index outside [0, axisDim) (nothing is written then).
static napi_value Gather(napi_env env, napi_callback_info info) {
  const char* fn = "gather";
  napi_value argv[6];
  view_t x, ix, o;
  int64_t outer, dim, inner;
  if (!get_args(env, info, 6, argv, fn) || !get_view(env, argv[0], &x, fn, "x") || !get_view(env, argv[1], &ix, fn, "indices") ||
      !get_view(env, argv[2], &o, fn, "out") || !get_i64(env, argv[3], &outer, fn, "outer") ||
      !get_i64(env, argv[4], &dim, fn, "axisDim") || !get_i64(env, argv[5], &inner, fn, "inner"))
    return NULL;
  if (ix.type != napi_int32_array) return throw_arg(env, fn, "indices must be an Int32Array");
  int widen = x.type == napi_uint16_array && o.type == napi_float32_array;
  size_t es = elem_size(x.type);
  if (!widen && es != elem_size(o.type)) return throw_arg(env, fn, "x and out must have one element size");
  int64_t nidx = (int64_t)ix.length;
  if ((int64_t)x.length < outer * dim * inner || (int64_t)o.length < outer * nidx * inner) return throw_arg(env, fn, "an operand is shorter than its shape");
  const int32_t* id = ix.data;
  napi_value res;
  for (int64_t j = 0; j < nidx; j++)
    if (id[j] < 0 || id[j] >= dim) {
      napi_create_double(env, (double)j, &res);
      return res;
    }
  const char* px = x.data;
  char* po = o.data;
#pragma omp parallel for schedule(static) if (outer * nidx * inner > PAR_MIN)
  for (int64_t r = 0; r < outer * nidx; r++) {
    int64_t oo = r / nidx, j = r % nidx;
    int64_t src = (oo * dim + id[j]) * inner;
    if (widen) {
      const uint16_t* a = (const uint16_t*)px + src;
      float* b = (float*)po + r * inner;
      for (int64_t i = 0; i < inner; i++) b[i] = bf16_to_f32(a[i]);
    } else {
      memcpy(po + r * inner * es, px + src * es, (size_t)inner * es);
    }
  }
  napi_create_double(env, -1, &res);
  return res;
}

// segmentSum(x Float32Array [n, inner], ids Int32Array [n], out Float32Array [numSegments, inner]):
// out[s] = the sum of the rows r with ids[r] = s, in row order, accumulated in double and rounded once;
// ids outside [0, numSegments) are skipped. That is bit for bit the cpu kernel's Σ over every row of
// mask[r, s] · x[r] (the other rows add exact zeros), including its NaN pattern: there 0 · x = NaN for
// a non-finite x[r, i], so column i is NaN in every segment but the one that row belongs to (all of
// them when its id is out of range). Rows are grouped by segment first (a stable counting sort), then
// segments run in parallel, each reading its rows contiguously; the result does not depend on the
// thread count. Every element of out is written.
#define SEG_COLS 512
static napi_value SegmentSum(napi_env env, napi_callback_info info) {
  const char* fn = "segmentSum";
  napi_value argv[4];
  view_t x, ids, o;
  int64_t inner;
  if (!get_args(env, info, 4, argv, fn) || !get_f32(env, argv[0], &x, fn, "x") || !get_view(env, argv[1], &ids, fn, "ids") ||
      !get_f32(env, argv[2], &o, fn, "out") || !get_i64(env, argv[3], &inner, fn, "inner"))
    return NULL;
  if (ids.type != napi_int32_array || inner < 1) return throw_arg(env, fn, "ids must be an Int32Array, inner >= 1");
  int64_t n = (int64_t)ids.length, segs = (int64_t)o.length / inner;
  if ((int64_t)x.length < n * inner) return throw_arg(env, fn, "x is shorter than ids x inner");
  const float* px = x.data;
  const int32_t* pi = ids.data;
  float* po = o.data;
  int64_t* start = calloc((size_t)segs + 1, sizeof(int64_t));
  int64_t* rows = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
  int64_t* bad = calloc((size_t)inner, sizeof(int64_t));  // non-finite values per column, all rows
  if (!start || !rows || !bad) {
    free(start);
    free(rows);
    free(bad);
    napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory in segmentSum");
    return NULL;
  }
  for (int64_t r = 0; r < n; r++)
    if (pi[r] >= 0 && pi[r] < segs) start[pi[r] + 1]++;
  for (int64_t s = 0; s < segs; s++) start[s + 1] += start[s];
  {
    int64_t* fill = malloc((size_t)(segs > 0 ? segs : 1) * sizeof(int64_t));
    if (!fill) {
      free(start);
      free(rows);
      free(bad);
      napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory in segmentSum");
      return NULL;
    }
    memcpy(fill, start, (size_t)segs * sizeof(int64_t));
    for (int64_t r = 0; r < n; r++)
      if (pi[r] >= 0 && pi[r] < segs) rows[fill[pi[r]]++] = r;
    free(fill);
  }
  int any_bad = 0;
#pragma omp parallel for schedule(static) if (n * inner > PAR_MIN) reduction(| : any_bad)
  for (int64_t i0 = 0; i0 < inner; i0 += SEG_COLS) {
    int64_t w = inner - i0 < SEG_COLS ? inner - i0 : SEG_COLS;
    for (int64_t r = 0; r < n; r++) {
      const float* row = px + r * inner + i0;
      for (int64_t i = 0; i < w; i++)
        if (!isfinite(row[i])) {
          bad[i0 + i]++;
          any_bad = 1;
        }
    }
  }
#pragma omp parallel for schedule(dynamic, 4) if (n * inner > PAR_MIN || segs * inner > PAR_MIN)
  for (int64_t s = 0; s < segs; s++) {
    double acc[SEG_COLS];
    int64_t own[SEG_COLS];
    for (int64_t i0 = 0; i0 < inner; i0 += SEG_COLS) {
      int64_t w = inner - i0 < SEG_COLS ? inner - i0 : SEG_COLS;
      for (int64_t i = 0; i < w; i++) acc[i] = 0.0, own[i] = 0;
      for (int64_t k = start[s]; k < start[s + 1]; k++) {
        const float* row = px + rows[k] * inner + i0;
        for (int64_t i = 0; i < w; i++) acc[i] += row[i];
        if (any_bad)
          for (int64_t i = 0; i < w; i++) own[i] += !isfinite(row[i]);
      }
      float* out = po + s * inner + i0;
      for (int64_t i = 0; i < w; i++) out[i] = any_bad && bad[i0 + i] > own[i] ? NAN : (float)acc[i];
    }
  }
  free(start);
  free(rows);
  free(bad);
  return NULL;
}

// oneHot(indices Int32Array, out (Float32Array | Int32Array), depth, on, off): on / off converted as
// the cpu kernel's typed array stores them.
static napi_value OneHot(napi_env env, napi_callback_info info) {
  const char* fn = "oneHot";
  napi_value argv[5];
  view_t ix, o;
  int64_t depth;
  double on, off;
  if (!get_args(env, info, 5, argv, fn) || !get_view(env, argv[0], &ix, fn, "indices") || !get_view(env, argv[1], &o, fn, "out") ||
      !get_i64(env, argv[2], &depth, fn, "depth") || !get_f64(env, argv[3], &on, fn, "on") || !get_f64(env, argv[4], &off, fn, "off"))
    return NULL;
  if (ix.type != napi_int32_array || (int64_t)o.length < (int64_t)ix.length * depth) return throw_arg(env, fn, "bad operands");
  const int32_t* pi = ix.data;
  int64_t n = (int64_t)ix.length;
  if (o.type == napi_float32_array) {
    float* po = o.data;
    for (int64_t i = 0; i < n * depth; i++) po[i] = (float)off;
    for (int64_t i = 0; i < n; i++)
      if (pi[i] >= 0 && pi[i] < depth) po[i * depth + pi[i]] = (float)on;
  } else if (o.type == napi_int32_array) {
    int32_t* po = o.data;
    int32_t on32 = js_to_int32(on), off32 = js_to_int32(off);
    for (int64_t i = 0; i < n * depth; i++) po[i] = off32;
    for (int64_t i = 0; i < n; i++)
      if (pi[i] >= 0 && pi[i] < depth) po[i * depth + pi[i]] = on32;
  } else
    return throw_arg(env, fn, "out must be a Float32Array or Int32Array");
  return NULL;
}

napi_value init_layout(napi_env env, napi_value exports) {
  set_fn(env, exports, "copy", Copy);
  set_fn(env, exports, "gather", Gather);
  set_fn(env, exports, "segmentSum", SegmentSum);
  set_fn(env, exports, "oneHot", OneHot);
  return exports;
}
