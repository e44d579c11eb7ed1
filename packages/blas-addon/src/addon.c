// Node-API binding to the machine's CBLAS (OpenBLAS on Debian): cblas_sgemm on Float32Array views,
// batched with element strides, plus OpenBLAS's thread count and identity. Operands are used in place:
// no copy, so a Float32Array over a wasm module's (Shared)ArrayBuffer heap is read and written directly.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>
#include <node_api.h>

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "blas-addon: Node-API call failed"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)

static napi_value throw_range(napi_env env, const char* msg) {
  napi_throw_range_error(env, "ERR_BLAS_ARGUMENT", msg);
  return NULL;
}

static int get_i64(napi_env env, napi_value v, int64_t* out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= -9007199254740991.0 && d <= 9007199254740991.0) || d != (double)(int64_t)d) return 0;
  *out = (int64_t)d;
  return 1;
}

typedef struct {
  float* data;
  size_t length;
} f32view;

// The data pointer of a Float32Array, including one over a SharedArrayBuffer (a threaded wasm heap).
static int get_f32(napi_env env, napi_value v, f32view* out) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type type;
  void* data = NULL;
  if (napi_get_typedarray_info(env, v, &type, &out->length, &data, NULL, NULL) != napi_ok) return 0;
  if (type != napi_float32_array) return 0;
  out->data = (float*)data;
  return 1;
}

// Elements one batch of a rows × cols row-major operand with leading dimension ld spans past its
// offset, for `batch` batches `stride` apart: the last index touched + 1 (0 when nothing is touched).
static int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

static const char* NAMES[] = {"A", "B", "C"};

// sgemm(transA, transB, M, N, K, alpha, A, aOff, lda, strideA, B, bOff, ldb, strideB,
//       beta, C, cOff, ldc, strideC, batch)
// For b in [0, batch): C_b = alpha · op(A_b) · op(B_b) + beta · C_b, row-major, where
// X_b starts at element xOff + b · strideX (stride 0 = the same operand for every batch).
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 20;
  napi_value argv[20];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 20) return throw_range(env, "sgemm: expected 20 arguments");
  bool ta, tb;
  if (napi_get_value_bool(env, argv[0], &ta) != napi_ok) return throw_range(env, "sgemm: transA must be a boolean");
  if (napi_get_value_bool(env, argv[1], &tb) != napi_ok) return throw_range(env, "sgemm: transB must be a boolean");
  int64_t M, N, K, batch;
  if (!get_i64(env, argv[2], &M) || !get_i64(env, argv[3], &N) || !get_i64(env, argv[4], &K) ||
      !get_i64(env, argv[19], &batch) || M < 0 || N < 0 || K < 0 || batch < 0 || M > INT32_MAX ||
      N > INT32_MAX || K > INT32_MAX)
    return throw_range(env, "sgemm: M, N, K and batch must be whole numbers in [0, 2^31)");
  double alpha, beta;
  if (napi_get_value_double(env, argv[5], &alpha) != napi_ok ||
      napi_get_value_double(env, argv[14], &beta) != napi_ok)
    return throw_range(env, "sgemm: alpha and beta must be numbers");

  f32view v[3];
  int64_t off[3], ld[3], stride[3];
  const int base[3] = {6, 10, 15};
  // Stored shapes: A is M×K (K×M transposed), B is K×N (N×K transposed), C is M×N.
  const int64_t rows[3] = {ta ? K : M, tb ? N : K, M};
  const int64_t cols[3] = {ta ? M : K, tb ? K : N, N};
  char msg[200];
  for (int i = 0; i < 3; i++) {
    if (!get_f32(env, argv[base[i]], &v[i])) {
      snprintf(msg, sizeof msg, "sgemm: %s must be a Float32Array", NAMES[i]);
      return throw_range(env, msg);
    }
    if (!get_i64(env, argv[base[i] + 1], &off[i]) || !get_i64(env, argv[base[i] + 2], &ld[i]) ||
        !get_i64(env, argv[base[i] + 3], &stride[i]) || off[i] < 0 || stride[i] < 0 || ld[i] > INT32_MAX) {
      snprintf(msg, sizeof msg, "sgemm: offset, ld and stride of %s must be whole numbers ≥ 0", NAMES[i]);
      return throw_range(env, msg);
    }
    if (ld[i] < (cols[i] > 1 ? cols[i] : 1)) {
      snprintf(msg, sizeof msg, "sgemm: ld%s = %lld is less than its row length %lld", i == 0 ? "a" : i == 1 ? "b" : "c",
               (long long)ld[i], (long long)cols[i]);
      return throw_range(env, msg);
    }
    int64_t need = extent(batch, stride[i], rows[i], cols[i], ld[i]);
    if (need > 0 && off[i] + need > (int64_t)v[i].length) {
      snprintf(msg, sizeof msg, "sgemm: %s needs elements [%lld, %lld) but has %lld", NAMES[i], (long long)off[i],
               (long long)(off[i] + need), (long long)v[i].length);
      return throw_range(env, msg);
    }
  }
  // Distinct batches must not write the same C elements (BLAS would race or overwrite).
  if (batch > 1 && M > 0 && N > 0 && stride[2] < (M - 1) * ld[2] + N)
    return throw_range(env, "sgemm: strideC is smaller than one C matrix, batches would overwrite each other");
  if (M == 0 || N == 0 || batch == 0) return NULL;

  for (int64_t b = 0; b < batch; b++) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N,
                (blasint)K, (float)alpha, v[0].data + off[0] + b * stride[0], (blasint)ld[0],
                v[1].data + off[1] + b * stride[1], (blasint)ld[1], (float)beta, v[2].data + off[2] + b * stride[2],
                (blasint)ld[2]);
  }
  return NULL;
}

static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t n;
  if (argc != 1 || !get_i64(env, argv[0], &n) || n < 1 || n > 4096)
    return throw_range(env, "setThreads: expected a whole number of threads ≥ 1");
  openblas_set_num_threads((int)n);
  return NULL;
}

static napi_value GetThreads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &out));
  return out;
}

// { config: "OpenBLAS 0.3.21 DYNAMIC_ARCH ...", core: "Zen", parallel: "pthread"|"openmp"|"none",
//   library: the shared object cblas_sgemm was resolved from }
static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, s;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "config", s));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "core", s));
  int p = openblas_get_parallel();
  CHECK(napi_create_string_utf8(env, p == 1 ? "pthread" : p == 2 ? "openmp" : "none", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "parallel", s));
  Dl_info dl;
  const char* lib = dladdr((void*)&cblas_sgemm, &dl) && dl.dli_fname ? dl.dli_fname : "";
  CHECK(napi_create_string_utf8(env, lib, NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "library", s));
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, SetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"getThreads", NULL, GetThreads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, Info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
