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
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

// reserve(fd, bytes): allocates the file's first `bytes` now (posix_fallocate; ENOSPC and EFBIG — over
// RLIMIT_FSIZE — both come back as ERR_SHM_NOSPACE). On tmpfs a mapping of a
// sparse file raises SIGBUS on first touch once the filesystem is full (Docker's default /dev/shm is
// 64 MiB); reserving up front turns that into an ENOSPC error here instead of a crash later.
static napi_value reserve(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  int64_t bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_value_int64(env, argv[1], &bytes) != napi_ok || bytes <= 0)
    THROW(env, "ERR_SHM_ARGUMENT", "reserve(fd, bytes)");
  int err = posix_fallocate(fd, 0, (off_t)bytes);
  if (err) {
    char msg[200];
    snprintf(msg, sizeof msg, "posix_fallocate of %lld bytes: %s", (long long)bytes, strerror(err));
    napi_throw_error(env, err == ENOSPC || err == EFBIG ? "ERR_SHM_NOSPACE" : "ERR_SHM_SYSTEM", msg);
    return NULL;
  }
  return NULL;
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
// `expected`, 0 on timeout. Polls for up to spinMicros first, yielding the core between polls (a futex
// wake-up costs tens of microseconds, more in a VM), then sleeps in the kernel until a wake or the
// timeout. Blocks the calling thread: callers keep timeouts short.
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
  for (int i = 0; spin > 0; i++) {
    if (__atomic_load_n(cell, __ATOMIC_SEQ_CST) != expected) return int_value(env, 1);
    // Give the core away while spinning: with more waiting processes than cores, the one we wait for
    // may need this very core; with spare cores sched_yield returns at once.
    sched_yield();
    if ((i & 7) == 7 && micros_since(&start) >= spin) break;
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

// ---- Single-copy reads from another process's memory (Linux cross-memory attach) ----
// process_vm_readv copies straight from a peer's pages into ours: one copy, no staging area. It needs
// ptrace-level permission over the peer (same user; Yama's ptrace_scope 0, or the peer declared us its
// tracer); callers probe once and fall back to shared staging buffers when it is refused.

// Data pointer and byte length of a TypedArray / DataView / ArrayBuffer argument.
static int bytes_arg(napi_env env, napi_value v, char** data, size_t* len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    void* p;
    if (napi_get_typedarray_info(env, v, &type, &length, &p, &ab, &offset) != napi_ok) return 0;
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1;
    }
    *data = (char*)p;
    *len = length * elem;
    return 1;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    void* p;
    if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok) return 0;
    *data = (char*)p;
    return 1;
  }
  napi_throw_type_error(env, "ERR_SHM_ARGUMENT", "expected a TypedArray or ArrayBuffer");
  return 0;
}

// addressOf(view): bigint — where the view's first byte lives in this process (for a peer's reads).
static napi_value address_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char* data;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
    THROW(env, "ERR_SHM_ARGUMENT", "addressOf(view)");
  if (!bytes_arg(env, argv[0], &data, &len)) return NULL;
  napi_value out;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &out);
  return out;
}

#ifdef __linux__
// Copies `bytes` from (pid, remote) to local; 0 or an errno.
static int read_remote(pid_t pid, uint64_t remote, char* local, size_t bytes) {
  while (bytes > 0) {
    struct iovec l = {local, bytes};
    struct iovec r = {(void*)(uintptr_t)remote, bytes};
    ssize_t got = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (got == 0) return EFAULT;
    local += got;
    remote += (uint64_t)got;
    bytes -= (size_t)got;
  }
  return 0;
}
#endif

static int get_u64(napi_env env, napi_value v, uint64_t* out) {
  bool lossless;
  if (napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok) return 1;
  double d;
  if (napi_get_value_double(env, v, &d) == napi_ok && d >= 0) {
    *out = (uint64_t)d;
    return 1;
  }
  return 0;
}

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[200];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, err == EPERM ? "ERR_SHM_PERMISSION" : "ERR_SHM_SYSTEM", msg);
  return NULL;
}

// readRemote(pid, address, dst): fills `dst` (a TypedArray) from process `pid` at `address`.
static napi_value read_remote_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t pid;
  uint64_t addr;
  char* dst;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &pid) != napi_ok || !get_u64(env, argv[1], &addr))
    THROW(env, "ERR_SHM_ARGUMENT", "readRemote(pid, address, dst)");
  if (!bytes_arg(env, argv[2], &dst, &len)) return NULL;
#ifdef __linux__
  int err = read_remote((pid_t)pid, addr, dst, len);
  if (err) return throw_errno(env, "process_vm_readv", err);
  return NULL;
#else
  (void)dst;
  return throw_errno(env, "process_vm_readv", ENOSYS);
#endif
}

// Floats per block: two blocks (accumulator and incoming) stay in L2 while a block is reduced.
#define REDUCE_BLOCK 16384

// reduceRemote(dst: Float32Array, pids: Int32Array, addresses: BigUint64Array, op: 0 sum | 1 max):
// dst[i] = src0[i] ⊕ src1[i] ⊕ … in source order, each source dst.length floats at (pids[q],
// addresses[q]); sums rounded to float32 after each addition (the same as a JS loop). max follows
// Math.max: NaN if either is NaN. Sources may include this process, and dst may alias a source at
// the same position (each block is read completely before it is written).
static napi_value reduce_remote(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  char *dstp, *pidp, *addrp;
  size_t dlen, plen, alen;
  int32_t op;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4)
    THROW(env, "ERR_SHM_ARGUMENT", "reduceRemote(dst, pids, addresses, op)");
  if (!bytes_arg(env, argv[0], &dstp, &dlen) || !bytes_arg(env, argv[1], &pidp, &plen) ||
      !bytes_arg(env, argv[2], &addrp, &alen))
    return NULL;
  if (napi_get_value_int32(env, argv[3], &op) != napi_ok || (op != 0 && op != 1))
    THROW(env, "ERR_SHM_ARGUMENT", "reduceRemote: op must be 0 (sum) or 1 (max)");
  size_t k = plen / 4;
  if (k < 1 || alen / 8 != k) THROW(env, "ERR_SHM_ARGUMENT", "reduceRemote: one pid and one address per source");
#ifdef __linux__
  const int32_t* pids = (const int32_t*)pidp;
  const uint64_t* addrs = (const uint64_t*)addrp;
  float* dst = (float*)dstp;
  size_t n = dlen / 4;
  // One pair of blocks per thread, kept: a fresh 128 KiB malloc is an mmap + page faults per call.
  static __thread float* blocks = NULL;
  if (!blocks && !(blocks = malloc(2 * REDUCE_BLOCK * sizeof(float))))
    THROW(env, "ERR_SHM_SYSTEM", "reduceRemote: out of memory");
  float* acc = blocks;
  float* in = blocks + REDUCE_BLOCK;
  int err = 0;
  for (size_t off = 0; off < n; off += REDUCE_BLOCK) {
    size_t m = n - off < REDUCE_BLOCK ? n - off : REDUCE_BLOCK;
    err = read_remote(pids[0], addrs[0] + off * 4, (char*)acc, m * 4);
    for (size_t q = 1; q < k && !err; q++) {
      err = read_remote(pids[q], addrs[q] + off * 4, (char*)in, m * 4);
      if (err) break;
      if (op == 0)
        for (size_t i = 0; i < m; i++) acc[i] += in[i];
      else
        for (size_t i = 0; i < m; i++) {
          float a = acc[i], b = in[i];
          // Math.max: NaN wins; +0 beats -0.
          acc[i] = (a != a || b != b) ? a + b : a > b ? a : b > a ? b : signbit(a) ? b : a;
        }
    }
    if (err) break;
    memcpy(dst + off, acc, m * 4);
  }
  if (err) return throw_errno(env, "process_vm_readv", err);
  return NULL;
#else
  (void)dstp;
  (void)op;
  return throw_errno(env, "process_vm_readv", ENOSYS);
#endif
}

static void export_fn(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "mapFd", map_fd);
  export_fn(env, exports, "reserve", reserve);
  export_fn(env, exports, "atomicLoad", atomic_load);
  export_fn(env, exports, "atomicStore", atomic_store);
  export_fn(env, exports, "atomicAdd", atomic_add);
  export_fn(env, exports, "waitWhileEqual", wait_while_equal);
  export_fn(env, exports, "wakeAll", wake_all);
  export_fn(env, exports, "addressOf", address_of);
  export_fn(env, exports, "readRemote", read_remote_js);
  export_fn(env, exports, "reduceRemote", reduce_remote);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
