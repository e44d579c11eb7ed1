// Tensor memory on the native heap: 64-byte aligned blocks handed to JS as external ArrayBuffers.
//
// release() detaches the ArrayBuffer (every view of it becomes empty, so a stale view reads nothing
// instead of freed memory) and returns the block at once: disposing a tensor frees its memory then,
// not at a later garbage collection. A block never released is returned by the ArrayBuffer's finalizer.
//
// Returned blocks are kept for reuse by exact size (a training step allocates the same sizes every
// step), up to a cap (BIOMED_LLAMA_NATIVE_CACHE_MB, default 2048; 0 = no cache): without it every
// large tensor is a fresh mmap from glibc whose pages fault in again on first touch. emptyCache() hands
// them all back (callers whose shapes change on every call use it; see the package README).
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef __GLIBC__  // (defined by the headers above)
#include <malloc.h>
#endif

#include "common.h"

// Blocks of 1 MiB and more are whole pages mapped for the block alone and unmapped when it goes: a
// size glibc would carve from its heaps (its mmap threshold rises to 32 MiB as blocks are freed) leaves
// holes the heap never returns, gigabytes of them between the steps of a model that fills the machine.
#define MAP_MIN ((size_t)1 << 20)

static void* block_alloc(size_t n) {
  if (n < MAP_MIN) return aligned_alloc(64, n);
  void* p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void block_free(void* p, size_t n) {
  if (n < MAP_MIN) free(p);
  else munmap(p, n);
}

typedef struct {
  void* data;
  size_t bytes;
  atomic_int freed;
  int v8_owned;  // a block over 4 GiB: V8 allocated it and frees it (see Alloc)
} block_t;

typedef struct cached_s {
  void* data;
  size_t bytes;
  struct cached_s* next;
} cached_t;

#define BUCKETS 1024
static cached_t* buckets[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long long cached_bytes = 0;
static long long cache_cap = -1;

static atomic_llong live_bytes = 0;
static atomic_llong live_blocks = 0;
static atomic_llong peak_bytes = 0;

static size_t bucket_of(size_t bytes) { return (bytes / 64) % BUCKETS; }

static long long cap(void) {
  if (cache_cap < 0) {
    const char* s = getenv("BIOMED_LLAMA_NATIVE_CACHE_MB");
    long long mb = s && *s ? atoll(s) : 2048;
    cache_cap = (mb < 0 ? 0 : mb) * 1024 * 1024;
  }
  return cache_cap;
}

// Keeping a freed block is a bet that memory is plentiful. When the machine runs short (MemAvailable
// under an eighth of MemTotal: a model whose weights, gradients and moments fill the machine) blocks
// are returned at once, as if the cap were 0. /proc/meminfo is read at
// most every 100 ms; where it cannot be read the cap alone decides.
static int memory_short(void) {
  static long long checked_ns = -1;
  static int short_now = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
  if (checked_ns >= 0 && now - checked_ns < 100000000LL) return short_now;
  checked_ns = now;
  FILE* f = fopen("/proc/meminfo", "r");
  if (!f) return short_now = 0;
  long long total_kb = -1, avail_kb = -1, v;
  char key[64];
  while (fscanf(f, "%63s %lld %*s", key, &v) == 2) {
    if (strcmp(key, "MemTotal:") == 0) total_kb = v;
    else if (strcmp(key, "MemAvailable:") == 0) avail_kb = v;
    if (total_kb >= 0 && avail_kb >= 0) break;
  }
  fclose(f);
  short_now = total_kb > 0 && avail_kb >= 0 && avail_kb < total_kb / 8;
  return short_now;
}

static void* take_cached(size_t bytes) {
  pthread_mutex_lock(&lock);
  cached_t** at = &buckets[bucket_of(bytes)];
  for (cached_t* c = *at; c; at = &c->next, c = c->next)
    if (c->bytes == bytes) {
      *at = c->next;
      cached_bytes -= (long long)bytes;
      pthread_mutex_unlock(&lock);
      void* p = c->data;
      free(c);
      return p;
    }
  pthread_mutex_unlock(&lock);
  return NULL;
}

static void empty_cache(void) {
  pthread_mutex_lock(&lock);
  for (int i = 0; i < BUCKETS; i++) {
    cached_t* c = buckets[i];
    while (c) {
      cached_t* n = c->next;
      block_free(c->data, c->bytes);
      free(c);
      c = n;
    }
    buckets[i] = NULL;
  }
  cached_bytes = 0;
  pthread_mutex_unlock(&lock);
#ifdef __GLIBC__
  // the small blocks came from glibc's heaps: hand their free pages back too
  malloc_trim(0);
#endif
}

static void give_back(void* p, size_t bytes) {
  cached_t* c = NULL;
  pthread_mutex_lock(&lock);
  int short_now = memory_short();
  int drop_cache = short_now && cached_bytes > 0;
  if (cached_bytes + (long long)bytes <= cap() && !short_now && (c = malloc(sizeof *c)) != NULL) {
    c->data = p;
    c->bytes = bytes;
    c->next = buckets[bucket_of(bytes)];
    buckets[bucket_of(bytes)] = c;
    cached_bytes += (long long)bytes;
  }
  pthread_mutex_unlock(&lock);
  if (!c) block_free(p, bytes);
  if (drop_cache) empty_cache();  // what is kept already goes too
}

static void free_block(block_t* b) {
  int expected = 0;
  if (atomic_compare_exchange_strong(&b->freed, &expected, 1)) {
    if (!b->v8_owned) give_back(b->data, b->bytes);
    atomic_fetch_sub(&live_bytes, (long long)b->bytes);
    atomic_fetch_sub(&live_blocks, 1);
  }
}

static void finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  block_t* b = (block_t*)hint;
  free_block(b);
  free(b);
}

// Node 20 refuses external ArrayBuffers over buffer.constants.MAX_LENGTH (4 GiB) and runs their
// finalizer at once; larger tensors get an ArrayBuffer V8 allocates (zeroed, 16-byte aligned), which
// a detach frees. The accounting is the same for both.
#define EXTERNAL_MAX ((int64_t)1 << 32)

static void account(size_t n) {
  long long now = atomic_fetch_add(&live_bytes, (long long)n) + (long long)n;
  atomic_fetch_add(&live_blocks, 1);
  long long peak = atomic_load(&peak_bytes);
  while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {
  }
}

static void finalize_v8_owned(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  block_t* b = (block_t*)data;
  free_block(b);
  free(b);
}

// alloc(bytes, zero) -> ArrayBuffer
static napi_value Alloc(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "alloc")) return NULL;
  int64_t bytes;
  bool zero;
  if (!get_i64(env, argv[0], &bytes, "alloc", "bytes") || !get_bool(env, argv[1], &zero, "alloc", "zero"))
    return NULL;
  if (bytes < 0) return throw_arg(env, "alloc", "bytes must be >= 0");
  napi_value ab;
  if (bytes >= EXTERNAL_MAX) {
    void* p = NULL;
    if (napi_create_arraybuffer(env, (size_t)bytes, &p, &ab) != napi_ok || !p) {
      napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory allocating a tensor");
      return NULL;
    }
    block_t* b = malloc(sizeof(block_t));
    b->data = p;
    b->bytes = (size_t)bytes;
    b->v8_owned = 1;
    atomic_init(&b->freed, 0);
    account(b->bytes);
    napi_wrap(env, ab, b, finalize_v8_owned, NULL, NULL);
    return ab;
  }
  // 64-byte multiples; past 1 MiB whole pages, so sizes repeat exactly from step to step.
  size_t n = bytes == 0 ? 64 : (((size_t)bytes + 63) / 64) * 64;
  if (n > (1u << 20)) n = ((n + 4095) / 4096) * 4096;
  void* p = take_cached(n);
  int fresh = 0;  // a fresh mapping is zero already
  if (!p) {
    p = block_alloc(n);
    if (!p) {
      empty_cache();
      p = block_alloc(n);
    }
    fresh = p != NULL && n >= MAP_MIN;
  }
  if (!p) {
    napi_throw_error(env, "ERR_NATIVE_OOM", "native-backend: out of memory allocating a tensor");
    return NULL;
  }
  if (zero && !fresh) memset(p, 0, n);
  block_t* b = malloc(sizeof(block_t));
  b->data = p;
  b->bytes = n;
  b->v8_owned = 0;
  atomic_init(&b->freed, 0);
  account(n);
  // On failure Node has already run `finalize` (block returned, b freed): nothing left to undo.
  if (napi_create_external_arraybuffer(env, p, (size_t)bytes, finalize, b, &ab) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "native-backend: cannot create an external ArrayBuffer");
    return NULL;
  }
  // Wrapped so release() can find the block again from the ArrayBuffer.
  napi_wrap(env, ab, b, NULL, NULL, NULL);
  return ab;
}

// release(arrayBuffer): detach and free now. Safe to call twice; ignores buffers it did not make.
static napi_value Release(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "release")) return NULL;
  block_t* b = NULL;
  // remove_wrap makes a second release() a no-op. The block is freed before the detach because the
  // detach may run the finalizer (which frees b) synchronously; no JavaScript runs in between.
  if (napi_remove_wrap(env, argv[0], (void**)&b) != napi_ok || b == NULL) return NULL;
  free_block(b);
  // A V8-owned block's bookkeeping is ours alone once unwrapped (its wrap finalizer is gone with the
  // wrap); the detach below frees its memory.
  if (b->v8_owned) free(b);
  bool detached = false;
  napi_is_detached_arraybuffer(env, argv[0], &detached);
  if (!detached) napi_detach_arraybuffer(env, argv[0]);
  return NULL;
}

static void set_num(napi_env env, napi_value o, const char* name, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, name, x);
}

// stats() -> { bytes, blocks, peakBytes, cachedBytes }: native tensor memory held by live tensors now,
// the most held at once, and freed blocks kept for reuse.
static napi_value Stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  napi_create_object(env, &o);
  set_num(env, o, "bytes", (double)atomic_load(&live_bytes));
  set_num(env, o, "blocks", (double)atomic_load(&live_blocks));
  set_num(env, o, "peakBytes", (double)atomic_load(&peak_bytes));
  pthread_mutex_lock(&lock);
  set_num(env, o, "cachedBytes", (double)cached_bytes);
  pthread_mutex_unlock(&lock);
  return o;
}

static napi_value ResetPeak(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  atomic_store(&peak_bytes, atomic_load(&live_bytes));
  return NULL;
}

static napi_value EmptyCache(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  empty_cache();
  return NULL;
}

napi_value init_memory(napi_env env, napi_value exports) {
  set_fn(env, exports, "alloc", Alloc);
  set_fn(env, exports, "release", Release);
  set_fn(env, exports, "stats", Stats);
  set_fn(env, exports, "resetPeak", ResetPeak);
  set_fn(env, exports, "emptyCache", EmptyCache);
  return exports;
}
