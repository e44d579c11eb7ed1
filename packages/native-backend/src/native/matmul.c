// Batched matrix multiply on oneDNN's matmul primitive (brgemm kernels: AVX-512 / AVX2, AMX for bf16).
// C[b] = op(A[b]) · op(B[b]), row-major, batch of A or B may be 1 (broadcast). Transposes are strides,
// never copies. Precision "f32" is exact float32; "bf16" rounds A and B to bfloat16 (nearest even)
// and accumulates in float32, as PyTorch's autocast matmul does. An operand held as bfloat16 storage
// (Uint16Array) under f32 precision is widened to float32 in slices of about 4 MiB inside the call,
// never as a whole copy.
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static dnnl_engine_t engine = NULL;
static dnnl_stream_t stream = NULL;

typedef struct {
  int64_t batch_a, batch_b, M, N, K, lda_row, ldb_row, ldc_row;
  int ta, tb, bf16;
} mm_key_t;

typedef struct {
  mm_key_t key;
  int used;
  unsigned long long stamp;
  dnnl_primitive_t prim;
  dnnl_memory_t a, b, c;
} mm_entry_t;

#define CACHE_SIZE 128
static mm_entry_t cache[CACHE_SIZE];
static unsigned long long clock_ = 0;

static int ensure_engine(void) {
  if (engine) return 1;
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return 0;
  if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return 0;
  return 1;
}

static void destroy_entry(mm_entry_t* e) {
  if (!e->used) return;
  dnnl_primitive_destroy(e->prim);
  dnnl_memory_destroy(e->a);
  dnnl_memory_destroy(e->b);
  dnnl_memory_destroy(e->c);
  e->used = 0;
}

// A [batchA, M, K] (stored [.., K, M] when ta), B [batchB, K, N] (stored [.., N, K] when tb),
// C [max(batchA, batchB), M, N]; *_row is the row stride (leading dimension) of the stored matrix.
static mm_entry_t* get_entry(const mm_key_t* k, const char** err) {
  for (int i = 0; i < CACHE_SIZE; i++)
    if (cache[i].used && memcmp(&cache[i].key, k, sizeof *k) == 0) {
      cache[i].stamp = ++clock_;
      return &cache[i];
    }
  if (!ensure_engine()) {
    *err = "cannot create the oneDNN CPU engine";
    return NULL;
  }
  int victim = 0;
  for (int i = 0; i < CACHE_SIZE; i++) {
    if (!cache[i].used) {
      victim = i;
      break;
    }
    if (cache[i].stamp < cache[victim].stamp) victim = i;
  }
  destroy_entry(&cache[victim]);
  dnnl_data_type_t in_t = k->bf16 ? dnnl_bf16 : dnnl_f32;
  int64_t batch = k->batch_a > k->batch_b ? k->batch_a : k->batch_b;
  dnnl_dims_t ad = {k->batch_a, k->M, k->K}, bd = {k->batch_b, k->K, k->N}, cd = {batch, k->M, k->N};
  // Batch strides are those of densely stacked matrices; a broadcast batch (1) has one matrix.
  int64_t a_mat = (k->ta ? k->K : k->M) * k->lda_row, b_mat = (k->tb ? k->N : k->K) * k->ldb_row;
  dnnl_dims_t as = {a_mat, k->ta ? 1 : k->lda_row, k->ta ? k->lda_row : 1};
  dnnl_dims_t bs = {b_mat, k->tb ? 1 : k->ldb_row, k->tb ? k->ldb_row : 1};
  dnnl_dims_t cs = {k->M * k->ldc_row, k->ldc_row, 1};
  dnnl_memory_desc_t amd, bmd, cmd;
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd;
  mm_entry_t* e = &cache[victim];
  if (dnnl_memory_desc_init_by_strides(&amd, 3, ad, in_t, as) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(&bmd, 3, bd, in_t, bs) != dnnl_success ||
      dnnl_memory_desc_init_by_strides(&cmd, 3, cd, dnnl_f32, cs) != dnnl_success ||
      dnnl_matmul_desc_init(&desc, &amd, &bmd, NULL, &cmd) != dnnl_success ||
      dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) != dnnl_success) {
    *err = "oneDNN has no matmul for these shapes";
    return NULL;
  }
  dnnl_status_t st = dnnl_primitive_create(&e->prim, pd);
  dnnl_primitive_desc_destroy(pd);
  if (st != dnnl_success) {
    *err = "cannot create the oneDNN matmul primitive";
    return NULL;
  }
  dnnl_memory_create(&e->a, &amd, engine, DNNL_MEMORY_NONE);
  dnnl_memory_create(&e->b, &bmd, engine, DNNL_MEMORY_NONE);
  dnnl_memory_create(&e->c, &cmd, engine, DNNL_MEMORY_NONE);
  e->key = *k;
  e->used = 1;
  e->stamp = ++clock_;
  return e;
}

static int run(const mm_key_t* k, const void* a, const void* b, float* c, const char** err) {
  mm_entry_t* e = get_entry(k, err);
  if (!e) return 0;
  dnnl_memory_set_data_handle(e->a, (void*)a);
  dnnl_memory_set_data_handle(e->b, (void*)b);
  dnnl_memory_set_data_handle(e->c, c);
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
  if (dnnl_primitive_execute(e->prim, stream, 3, args) != dnnl_success ||
      dnnl_stream_wait(stream) != dnnl_success) {
    *err = "oneDNN matmul failed";
    return 0;
  }
  return 1;
}

// Scratch buffers reused across calls (all calls come from the JS thread).
static void* scratch[3] = {NULL, NULL, NULL};
static size_t scratch_bytes[3] = {0, 0, 0};
static void* get_scratch(int i, size_t bytes) {
  if (scratch_bytes[i] < bytes) {
    free(scratch[i]);
    scratch[i] = aligned_alloc(64, ((bytes + 63) / 64) * 64);
    scratch_bytes[i] = scratch[i] ? bytes : 0;
  }
  return scratch[i];
}

// The conversions run in chunks of CHUNK elements, each a vectorised loop (HOT), the chunks in parallel.
#define CHUNK 16384
HOT static void to_bf16_run(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = f32_to_bf16(src[i]);
}
HOT static void to_f32_run(const uint16_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(src[i]);
}
static void to_bf16(const float* src, uint16_t* dst, int64_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < n; c += CHUNK) to_bf16_run(src + c, dst + c, n - c < CHUNK ? n - c : CHUNK);
}
static void to_f32(const uint16_t* src, float* dst, int64_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
  for (int64_t c = 0; c < n; c += CHUNK) to_f32_run(src + c, dst + c, n - c < CHUNK ? n - c : CHUNK);
}

// matmul(A, B, C, batchA, batchB, M, N, K, transA, transB, bf16Precision)
// A, B: Float32Array or Uint16Array (bfloat16 storage); C: Float32Array, densely stacked.
static napi_value Matmul(napi_env env, napi_callback_info info) {
  const char* fn = "matmul";
  napi_value argv[11];
  if (!get_args(env, info, 11, argv, fn)) return NULL;
  view_t A, B, C;
  int64_t ba, bb, M, N, K;
  bool ta, tb, prec_bf16;
  if (!get_view(env, argv[0], &A, fn, "A") || !get_view(env, argv[1], &B, fn, "B") ||
      !get_f32(env, argv[2], &C, fn, "C") || !get_i64(env, argv[3], &ba, fn, "batchA") ||
      !get_i64(env, argv[4], &bb, fn, "batchB") || !get_i64(env, argv[5], &M, fn, "M") ||
      !get_i64(env, argv[6], &N, fn, "N") || !get_i64(env, argv[7], &K, fn, "K") ||
      !get_bool(env, argv[8], &ta, fn, "transA") || !get_bool(env, argv[9], &tb, fn, "transB") ||
      !get_bool(env, argv[10], &prec_bf16, fn, "bf16"))
    return NULL;
  if (A.type != napi_float32_array && A.type != napi_uint16_array) return throw_arg(env, fn, "A must be a Float32Array or Uint16Array (bfloat16)");
  if (B.type != napi_float32_array && B.type != napi_uint16_array) return throw_arg(env, fn, "B must be a Float32Array or Uint16Array (bfloat16)");
  if (ba < 1 || bb < 1 || M < 0 || N < 0 || K < 0 || (ba != bb && ba != 1 && bb != 1))
    return throw_arg(env, fn, "batch sizes must be equal or one of them 1; M, N, K >= 0");
  int64_t batch = ba > bb ? ba : bb;
  if ((int64_t)A.length < ba * M * K || (int64_t)B.length < bb * K * N || (int64_t)C.length < batch * M * N)
    return throw_arg(env, fn, "an operand is shorter than its shape");
  if (M == 0 || N == 0) return NULL;
  if (K == 0) {
    memset(C.data, 0, (size_t)(batch * M * N) * 4);
    return NULL;
  }
  const char* err = NULL;
  mm_key_t key = {ba, bb, M, N, K, ta ? M : K, tb ? K : N, N, ta, tb, prec_bf16};
  const void* a = A.data;
  const void* b = B.data;
  if (prec_bf16) {
    // Inputs rounded to bfloat16 once per call (weights already in bf16 storage are used as they are).
    if (A.type == napi_float32_array) {
      uint16_t* s = get_scratch(0, (size_t)(ba * M * K) * 2);
      if (!s) goto oom;
      to_bf16((const float*)A.data, s, ba * M * K);
      a = s;
    }
    if (B.type == napi_float32_array) {
      uint16_t* s = get_scratch(1, (size_t)(bb * K * N) * 2);
      if (!s) goto oom;
      to_bf16((const float*)B.data, s, bb * K * N);
      b = s;
    }
    if (!run(&key, a, b, (float*)C.data, &err)) return throw_arg(env, fn, err);
    return NULL;
  }
  if (A.type == napi_uint16_array) {
    float* s = get_scratch(0, (size_t)(ba * M * K) * 4);
    if (!s) goto oom;
    to_f32((const uint16_t*)A.data, s, ba * M * K);
    a = s;
  }
  if (B.type == napi_float32_array) {
    if (!run(&key, a, b, (float*)C.data, &err)) return throw_arg(env, fn, err);
    return NULL;
  }
  {
    // bfloat16 B under f32 precision: widen column blocks of op(B) of about 4 MiB and multiply each
    // into its columns of C (C's row stride stays N).
    int64_t nc = (4 << 20) / (4 * K);
    nc = nc < 64 ? 64 : (nc / 64) * 64;
    if (nc > N) nc = N;
    float* wb = get_scratch(1, (size_t)(nc * K) * 4);
    if (!wb) goto oom;
    const uint16_t* bsrc = (const uint16_t*)B.data;
    for (int64_t bi = 0; bi < batch; bi++) {
      const uint16_t* bmat = bsrc + (bb == 1 ? 0 : bi * K * N);
      const char* amat = (const char*)a + (ba == 1 ? 0 : bi * M * K) * 4;
      float* cmat = (float*)C.data + bi * M * N;
      for (int64_t n0 = 0; n0 < N; n0 += nc) {
        int64_t w = N - n0 < nc ? N - n0 : nc;
        if (tb) {
          to_f32(bmat + n0 * K, wb, w * K);  // rows n0..n0+w of the stored [N, K]: contiguous
        } else {
#pragma omp parallel for schedule(static) if (w * K > PAR_MIN)
          for (int64_t kk = 0; kk < K; kk++)
            for (int64_t j = 0; j < w; j++) wb[kk * w + j] = bf16_to_f32(bmat[kk * N + n0 + j]);
        }
        mm_key_t kb = {1, 1, M, w, K, ta ? M : K, tb ? K : w, N, ta, tb, 0};
        if (!run(&kb, amat, wb, cmat + n0, &err)) return throw_arg(env, fn, err);
      }
    }
  }
  return NULL;
oom:
  napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory for matmul scratch");
  return NULL;
}

// toBf16(src Float32Array, dst Uint16Array): round to nearest even.
static napi_value ToBf16(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  view_t s, d;
  if (!get_args(env, info, 2, argv, "toBf16") || !get_f32(env, argv[0], &s, "toBf16", "src") ||
      !get_view(env, argv[1], &d, "toBf16", "dst"))
    return NULL;
  if (d.type != napi_uint16_array || d.length < s.length) return throw_arg(env, "toBf16", "dst must be a Uint16Array as long as src");
  to_bf16((const float*)s.data, (uint16_t*)d.data, (int64_t)s.length);
  return NULL;
}

// fromBf16(src Uint16Array, dst Float32Array)
static napi_value FromBf16(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  view_t s, d;
  if (!get_args(env, info, 2, argv, "fromBf16") || !get_view(env, argv[0], &s, "fromBf16", "src") ||
      !get_f32(env, argv[1], &d, "fromBf16", "dst"))
    return NULL;
  if (s.type != napi_uint16_array || d.length < s.length) return throw_arg(env, "fromBf16", "src must be a Uint16Array no longer than dst");
  to_f32((const uint16_t*)s.data, (float*)d.data, (int64_t)s.length);
  return NULL;
}

static const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
  }
}

// info() -> { onednn: "2.6.3", isa: "avx512_core_amx", threads }
static napi_value Info(napi_env env, napi_callback_info info) {
  (void)info;
  const dnnl_version_t* v = dnnl_version();
  char ver[64];
  snprintf(ver, sizeof ver, "%d.%d.%d", v->major, v->minor, v->patch);
  napi_value o, s;
  napi_create_object(env, &o);
  napi_create_string_utf8(env, ver, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, "onednn", s);
  napi_create_string_utf8(env, isa_name(dnnl_get_effective_cpu_isa()), NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, "isa", s);
  napi_create_int32(env, omp_get_max_threads(), &s);
  napi_set_named_property(env, o, "threads", s);
  return o;
}

// setThreads(n): OpenMP threads for oneDNN and every loop of this addon.
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t n;
  if (!get_args(env, info, 1, argv, "setThreads") || !get_i64(env, argv[0], &n, "setThreads", "n")) return NULL;
  if (n < 1 || n > 1024) return throw_arg(env, "setThreads", "n must be in [1, 1024]");
  omp_set_num_threads((int)n);
  return NULL;
}

napi_value init_matmul(napi_env env, napi_value exports) {
  set_fn(env, exports, "matmul", Matmul);
  set_fn(env, exports, "toBf16", ToBf16);
  set_fn(env, exports, "fromBf16", FromBf16);
  set_fn(env, exports, "info", Info);
  set_fn(env, exports, "setThreads", SetThreads);
  return exports;
}
