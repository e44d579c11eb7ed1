// mmap for Node: maps a file (meant for one in /dev/shm) MAP_SHARED and hands the mapping to JavaScript
// as an ArrayBuffer, so processes on one machine see each other's writes with no copy through a socket.
// The mapping is unmapped when the ArrayBuffer is garbage-collected. Node-API only (ABI-stable).
#define _GNU_SOURCE
#include <limits.h>
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define THROW(env, code, msg)                      \
  do {                                             \
    napi_throw_error((env), (code), (msg));        \
    return NULL;                                   \
  } while (0)

static void unmap(napi_env env, void* data, void* hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

// mapFd(fd: number, bytes: number): ArrayBuffer — the first `bytes` of the open file `fd`, read-write,
// shared. The file must already be at least that long (ftruncate it first). The fd may be closed after.
static napi_value map_fd(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2)
    THROW(env, "ERR_SHM_ARGUMENT", "mapFd(fd, bytes) takes two numbers");
  int32_t fd;
  int64_t bytes;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
    THROW(env, "ERR_SHM_ARGUMENT", "mapFd: fd must be a non-negative integer");
  if (napi_get_value_int64(env, argv[1], &bytes) != napi_ok || bytes <= 0)
    THROW(env, "ERR_SHM_ARGUMENT", "mapFd: bytes must be a positive integer");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    char msg[160];
    snprintf(msg, sizeof msg, "mapFd: fstat(%d) failed: %s", fd, strerror(errno));
    THROW(env, "ERR_SHM_SYSTEM", msg);
  }
  if ((int64_t)st.st_size < bytes) {
    char msg[160];
    snprintf(msg, sizeof msg, "mapFd: the file is %lld bytes, shorter than the %lld requested",
             (long long)st.st_size, (long long)bytes);
    THROW(env, "ERR_SHM_ARGUMENT", msg);
  }
  void* addr = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    char msg[160];
    snprintf(msg, sizeof msg, "mapFd: mmap of %lld bytes failed: %s", (long long)bytes, strerror(errno));
    THROW(env, "ERR_SHM_SYSTEM", msg);
  }
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, (size_t)bytes, unmap, (void*)(uintptr_t)bytes, &ab) !=
      napi_ok) {
    munmap(addr, (size_t)bytes);
    THROW(env, "ERR_SHM_SYSTEM", "mapFd: this Node cannot wrap external memory in an ArrayBuffer");
  }
  return ab;
}

// ---- Cross-process synchronisation on an int32 inside an ArrayBuffer (normally a shared mapping) ----
// JavaScript's Atomics.wait works only within one process (and only on a SharedArrayBuffer); these are
// the real thing: sequentially consistent atomics, and the futex syscall without FUTEX_PRIVATE_FLAG, so a
// wake in one process reaches a waiter in another that maps the same page.

// Reads (ab, byteOffset) from argv[0..1] into *cell; byteOffset must be 4-aligned and inside ab.
static int cell_arg(napi_env env, napi_value* argv, int32_t** cell) {
  void* data;
  size_t len;
  int64_t off;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_SHM_ARGUMENT", "expected an ArrayBuffer");
    return 0;
  }
  if (napi_get_value_int64(env, argv[1], &off) != napi_ok || off < 0 || off % 4 != 0 ||
      (uint64_t)off + 4 > len) {
    napi_throw_range_error(env, "ERR_SHM_ARGUMENT", "byteOffset must be 4-aligned and inside the buffer");
    return 0;
  }
  *cell = (int32_t*)((char*)data + off);
  return 1;
}

static napi_value int_value(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

#define CELL_ARGS(n)                                                        \
  size_t argc = (n);                                                        \
  napi_value argv[(n)];                                                     \
  int32_t* cell;                                                            \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < (n)) \
    THROW(env, "ERR_SHM_ARGUMENT", "missing arguments");                    \
  if (!cell_arg(env, argv, &cell)) return NULL;

// atomicLoad(ab, byteOffset): int32
static napi_value atomic_load(napi_env env, napi_callback_info info) {
  CELL_ARGS(2);
  return int_value(env, __atomic_load_n(cell, __ATOMIC_SEQ_CST));
}

// atomicStore(ab, byteOffset, value)
static napi_value atomic_store(napi_env env, napi_callback_info info) {
  CELL_ARGS(3);
  int32_t v;
  if (napi_get_value_int32(env, argv[2], &v) != napi_ok) THROW(env, "ERR_SHM_ARGUMENT", "value must be an int32");
  __atomic_store_n(cell, v, __ATOMIC_SEQ_CST);
  return NULL;
}

// atomicAdd(ab, byteOffset, delta): the value before the addition
static napi_value atomic_add(napi_env env, napi_callback_info info) {
  CELL_ARGS(3);
  int32_t d;
  if (napi_get_value_int32(env, argv[2], &d) != napi_ok) THROW(env, "ERR_SHM_ARGUMENT", "delta must be an int32");
  return int_value(env, __atomic_fetch_add(cell, d, __ATOMIC_SEQ_CST));
}

static int64_t micros_since(const struct timespec* start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)(now.tv_sec - start->tv_sec) * 1000000 + (now.tv_nsec - start->tv_nsec) / 1000;
}

// waitWhileEqual(ab, byteOffset, expected, timeoutMicros, spinMicros = 0): 1 if the cell no longer holds
// `expected`, 0 on timeout. Spins up to spinMicros first (worth it when the peer runs on another core:
// a futex wake-up costs tens of microseconds, more in a VM), then sleeps in the kernel until a wake or
// the timeout. Blocks the calling thread: callers keep timeouts short.
static napi_value wait_while_equal(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t* cell;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4)
    THROW(env, "ERR_SHM_ARGUMENT", "missing arguments");
  if (!cell_arg(env, argv, &cell)) return NULL;
  int32_t expected;
  int64_t micros, spin = 0;
  if (napi_get_value_int32(env, argv[2], &expected) != napi_ok ||
      napi_get_value_int64(env, argv[3], &micros) != napi_ok || micros < 0 ||
      (argc > 4 && (napi_get_value_int64(env, argv[4], &spin) != napi_ok || spin < 0)))
    THROW(env, "ERR_SHM_ARGUMENT", "waitWhileEqual(ab, byteOffset, expected, timeoutMicros, spinMicros?)");
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  if (spin > micros) spin = micros;
  for (int i = 0;; i++) {
    if (__atomic_load_n(cell, __ATOMIC_SEQ_CST) != expected) return int_value(env, 1);
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
    if ((i & 63) == 63 && micros_since(&start) >= spin) break;
  }
  for (;;) {
    if (__atomic_load_n(cell, __ATOMIC_SEQ_CST) != expected) return int_value(env, 1);
    int64_t left = micros - micros_since(&start);
    if (left <= 0) return int_value(env, 0);
#ifdef __linux__
    struct timespec ts = {left / 1000000, (left % 1000000) * 1000};
    syscall(SYS_futex, cell, FUTEX_WAIT, expected, &ts, NULL, 0);  // EAGAIN / EINTR / ETIMEDOUT: re-check
#else
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
#endif
  }
}

// wakeAll(ab, byteOffset): wakes every process waiting on the cell
static napi_value wake_all(napi_env env, napi_callback_info info) {
  CELL_ARGS(2);
#ifdef __linux__
  syscall(SYS_futex, cell, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
#else
  (void)cell;
#endif
  return NULL;
}

static void export_fn(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "mapFd", map_fd);
  export_fn(env, exports, "atomicLoad", atomic_load);
  export_fn(env, exports, "atomicStore", atomic_store);
  export_fn(env, exports, "atomicAdd", atomic_add);
  export_fn(env, exports, "waitWhileEqual", wait_while_equal);
  export_fn(env, exports, "wakeAll", wake_all);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
