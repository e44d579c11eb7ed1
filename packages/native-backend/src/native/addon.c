// Module entry and argument helpers. Kernels live one idea per file beside this one.
#include <stdio.h>
#include <string.h>

#include "common.h"

napi_value throw_arg(napi_env env, const char* fn, const char* what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", fn, what);
  napi_throw_range_error(env, "ERR_NATIVE_ARGUMENT", msg);
  return NULL;
}

int get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, const char* fn) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc != want) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", want, argc);
    throw_arg(env, fn, msg);
    return 0;
  }
  return 1;
}

size_t elem_size(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;
  }
}

int get_view(napi_env env, napi_value v, view_t* out, const char* fn, const char* name) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a typed array", name);
    throw_arg(env, fn, msg);
    return 0;
  }
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, NULL, NULL) != napi_ok) {
    throw_arg(env, fn, "cannot read a typed array");
    return 0;
  }
  return 1;
}

int get_f32(napi_env env, napi_value v, view_t* out, const char* fn, const char* name) {
  if (!get_view(env, v, out, fn, name)) return 0;
  if (out->type != napi_float32_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a Float32Array", name);
    throw_arg(env, fn, msg);
    return 0;
  }
  return 1;
}

int get_i64(napi_env env, napi_value v, int64_t* out, const char* fn, const char* name) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= -9007199254740991.0 && d <= 9007199254740991.0) ||
      d != (double)(int64_t)d) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a whole number", name);
    throw_arg(env, fn, msg);
    return 0;
  }
  *out = (int64_t)d;
  return 1;
}

int get_f64(napi_env env, napi_value v, double* out, const char* fn, const char* name) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number", name);
    throw_arg(env, fn, msg);
    return 0;
  }
  return 1;
}

int get_bool(napi_env env, napi_value v, bool* out, const char* fn, const char* name) {
  if (napi_get_value_bool(env, v, out) != napi_ok) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a boolean", name);
    throw_arg(env, fn, msg);
    return 0;
  }
  return 1;
}

int get_dims(napi_env env, napi_value v, int64_t* dims, int* n, const char* fn, const char* name) {
  uint32_t len = 0;
  bool is_arr = false;
  if (napi_is_array(env, v, &is_arr) != napi_ok || !is_arr || napi_get_array_length(env, v, &len) != napi_ok ||
      len > MAX_RANK) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an array of at most %d numbers", name, MAX_RANK);
    throw_arg(env, fn, msg);
    return 0;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok || !get_i64(env, e, &dims[i], fn, name)) return 0;
  }
  *n = (int)len;
  return 1;
}

int coalesce_axes(int r, int64_t* dims, int64_t* s1, int64_t* s2) {
  int64_t d[MAX_RANK], a[MAX_RANK], b[MAX_RANK];
  int n = 0;
  for (int i = 0; i < r; i++) {
    if (dims[i] == 1) continue;
    if (n > 0 && a[n - 1] == s1[i] * dims[i] && b[n - 1] == s2[i] * dims[i]) {
      d[n - 1] *= dims[i];
      a[n - 1] = s1[i];
      b[n - 1] = s2[i];
      continue;
    }
    d[n] = dims[i];
    a[n] = s1[i];
    b[n] = s2[i];
    n++;
  }
  if (n == 0) {
    d[0] = 1;
    a[0] = 0;
    b[0] = 0;
    n = 1;
  }
  memcpy(dims, d, sizeof(int64_t) * n);
  memcpy(s1, a, sizeof(int64_t) * n);
  memcpy(s2, b, sizeof(int64_t) * n);
  return n;
}

void set_fn(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value Init(napi_env env, napi_value exports) {
  init_memory(env, exports);
  init_matmul(env, exports);
  init_elementwise(env, exports);
  init_reduce(env, exports);
  init_layout(env, exports);
  init_fused(env, exports);
  init_attention(env, exports);
  init_optim(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
