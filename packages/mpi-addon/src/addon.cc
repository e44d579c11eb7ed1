// Node-API binding to the handful of MPI calls data-parallel training needs, on Float32Array buffers.
//
// Every collective runs on a libuv worker thread (napi_async_work) and resolves a promise, so the JS
// event loop stays free: a timer in JS can notice a collective that never completes and abort the job.
// Communicators live in a table owned by the main thread and are referred to from JS by index.
#include <mpi.h>
#include <node_api.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct CommEntry {
  MPI_Comm comm;
  std::string label;
};

// Only touched on the main thread (init, split completion, finalize); workers get a copy of the MPI_Comm.
std::vector<CommEntry> g_comms;
int g_world_rank = -1;
int g_thread_level = -1;
bool g_finalized = false;

#define NAPI_CALL(env, call)                                         \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      const napi_extended_error_info* info = nullptr;                \
      napi_get_last_error_info((env), &info);                        \
      bool pending = false;                                          \
      napi_is_exception_pending((env), &pending);                    \
      if (!pending)                                                  \
        napi_throw_error((env), nullptr,                             \
                         info && info->error_message ? info->error_message \
                                                     : "Node-API call failed"); \
      return nullptr;                                                \
    }                                                                \
  } while (0)

std::string MpiErrorText(int rc) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) return "error code " + std::to_string(rc);
  return std::string(text, len);
}

// The error every failed MPI call becomes: names the call, the world rank and the communicator.
napi_value MakeMpiError(napi_env env, const char* call, const std::string& label, int rc) {
  int cls = rc;
  MPI_Error_class(rc, &cls);
  std::string msg = std::string(call) + " failed on rank " + std::to_string(g_world_rank) + " (" + label +
                    " communicator): " + MpiErrorText(rc);
  napi_value text, err, v;
  napi_create_string_utf8(env, msg.c_str(), msg.size(), &text);
  napi_create_error(env, nullptr, text, &err);
  napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "mpiCall", v);
  napi_create_int32(env, g_world_rank, &v);
  napi_set_named_property(env, err, "rank", v);
  napi_create_int32(env, cls, &v);
  napi_set_named_property(env, err, "errorClass", v);
  napi_create_string_utf8(env, "MpiError", NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, err, "name", v);
  return err;
}

bool ThrowIf(napi_env env, bool bad, const char* msg) {
  if (bad) napi_throw_type_error(env, nullptr, msg);
  return bad;
}

bool RequireInit(napi_env env) {
  if (g_comms.empty()) {
    napi_throw_error(env, nullptr, "MPI is not initialised: call init() first");
    return false;
  }
  if (g_finalized) {
    napi_throw_error(env, nullptr, "MPI has been finalized; it cannot be used again in this process");
    return false;
  }
  return true;
}

bool GetInt(napi_env env, napi_value v, int32_t* out, const char* what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    napi_throw_type_error(env, nullptr, what);
    return false;
  }
  napi_get_value_int32(env, v, out);
  return true;
}

bool GetComm(napi_env env, napi_value v, int32_t* id) {
  if (!GetInt(env, v, id, "communicator id must be a number")) return false;
  if (*id < 0 || *id >= static_cast<int32_t>(g_comms.size()) || g_comms[*id].comm == MPI_COMM_NULL) {
    napi_throw_range_error(env, nullptr, "unknown or freed communicator id");
    return false;
  }
  return true;
}

bool GetFloat32(napi_env env, napi_value v, float** data, size_t* length, const char* what) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  napi_typedarray_type type;
  void* ptr = nullptr;
  if (!is_ta || napi_get_typedarray_info(env, v, &type, length, &ptr, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array) {
    napi_throw_type_error(env, nullptr, (std::string(what) + " must be a Float32Array").c_str());
    return false;
  }
  if (*length > static_cast<size_t>(INT_MAX)) {
    napi_throw_range_error(env, nullptr,
                           (std::string(what) + " has more than 2^31-1 elements (MPI counts are int)").c_str());
    return false;
  }
  *data = static_cast<float*>(ptr);
  return true;
}

bool GetOp(napi_env env, napi_value v, MPI_Op* op) {
  char name[8] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "op must be \"sum\" or \"max\"");
    return false;
  }
  if (std::strcmp(name, "sum") == 0) *op = MPI_SUM;
  else if (std::strcmp(name, "max") == 0) *op = MPI_MAX;
  else {
    napi_throw_type_error(env, nullptr, "op must be \"sum\" or \"max\"");
    return false;
  }
  return true;
}

enum class Kind { kAllreduce, kReduceScatterBlock, kAllgather, kBcast, kBarrier, kSplitShared, kSplit };

const char* CallName(Kind k) {
  switch (k) {
    case Kind::kAllreduce: return "MPI_Allreduce";
    case Kind::kReduceScatterBlock: return "MPI_Reduce_scatter_block";
    case Kind::kAllgather: return "MPI_Allgather";
    case Kind::kBcast: return "MPI_Bcast";
    case Kind::kBarrier: return "MPI_Barrier";
    case Kind::kSplitShared: return "MPI_Comm_split_type";
    case Kind::kSplit: return "MPI_Comm_split";
  }
  return "MPI";
}

struct Work {
  Kind kind;
  MPI_Comm comm;
  std::string label;     // communicator label, for error messages
  std::string newLabel;  // for splits
  float* a = nullptr;
  float* b = nullptr;
  int count = 0;
  int root = 0;
  int color = 0;
  int key = 0;
  MPI_Op op = MPI_SUM;
  MPI_Comm result = MPI_COMM_NULL;
  int rc = MPI_SUCCESS;
  // Keep the typed arrays alive (and unmoved) while a worker thread reads and writes them.
  napi_ref refA = nullptr;
  napi_ref refB = nullptr;
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
};

void Execute(napi_env, void* data) {
  Work* w = static_cast<Work*>(data);
  switch (w->kind) {
    case Kind::kAllreduce:
      w->rc = MPI_Allreduce(MPI_IN_PLACE, w->a, w->count, MPI_FLOAT, w->op, w->comm);
      break;
    case Kind::kReduceScatterBlock:
      w->rc = MPI_Reduce_scatter_block(w->a, w->b, w->count, MPI_FLOAT, w->op, w->comm);
      break;
    case Kind::kAllgather:
      w->rc = MPI_Allgather(w->a, w->count, MPI_FLOAT, w->b, w->count, MPI_FLOAT, w->comm);
      break;
    case Kind::kBcast:
      w->rc = MPI_Bcast(w->a, w->count, MPI_FLOAT, w->root, w->comm);
      break;
    case Kind::kBarrier:
      w->rc = MPI_Barrier(w->comm);
      break;
    case Kind::kSplitShared:
      w->rc = MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->key, MPI_INFO_NULL, &w->result);
      break;
    case Kind::kSplit:
      w->rc = MPI_Comm_split(w->comm, w->color, w->key, &w->result);
      break;
  }
}

void Complete(napi_env env, napi_status status, void* data) {
  Work* w = static_cast<Work*>(data);
  if (w->refA) napi_delete_reference(env, w->refA);
  if (w->refB) napi_delete_reference(env, w->refB);
  if (status != napi_ok) {
    napi_value text, err;
    napi_create_string_utf8(env, "MPI work was cancelled", NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, nullptr, text, &err);
    napi_reject_deferred(env, w->deferred, err);
  } else if (w->rc != MPI_SUCCESS) {
    napi_reject_deferred(env, w->deferred, MakeMpiError(env, CallName(w->kind), w->label, w->rc));
  } else {
    napi_value value;
    if (w->kind == Kind::kSplitShared || w->kind == Kind::kSplit) {
      if (w->result != MPI_COMM_NULL) MPI_Comm_set_errhandler(w->result, MPI_ERRORS_RETURN);
      g_comms.push_back({w->result, w->newLabel});
      napi_create_int32(env, static_cast<int32_t>(g_comms.size() - 1), &value);
    } else {
      napi_get_undefined(env, &value);
    }
    napi_resolve_deferred(env, w->deferred, value);
  }
  napi_delete_async_work(env, w->work);
  delete w;
}

napi_value Queue(napi_env env, Work* w, napi_value* buffers, int nbuf) {
  napi_value promise, name;
  if (nbuf > 0) napi_create_reference(env, buffers[0], 1, &w->refA);
  if (nbuf > 1) napi_create_reference(env, buffers[1], 1, &w->refB);
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, CallName(w->kind), NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, Execute, Complete, w, &w->work);
  if (napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_async_work(env, w->work);
    if (w->refA) napi_delete_reference(env, w->refA);
    if (w->refB) napi_delete_reference(env, w->refB);
    delete w;
    napi_throw_error(env, nullptr, "could not queue MPI work");
    return nullptr;
  }
  return promise;
}

Work* NewWork(Kind kind, int32_t id) {
  Work* w = new Work();
  w->kind = kind;
  w->comm = g_comms[id].comm;
  w->label = g_comms[id].label;
  return w;
}

napi_value Args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < want) {
    napi_throw_type_error(env, nullptr, ("expected " + std::to_string(want) + " arguments").c_str());
    return nullptr;
  }
  napi_value ok;
  napi_get_boolean(env, true, &ok);
  return ok;
}

// init() -> { rank, size, threadLevel, world: 0 }; idempotent until finalize.
napi_value Init(napi_env env, napi_callback_info) {
  if (g_finalized) {
    napi_throw_error(env, nullptr, "MPI has been finalized; it cannot be initialised again in this process");
    return nullptr;
  }
  if (g_comms.empty()) {
    int already = 0;
    MPI_Initialized(&already);
    int provided = MPI_THREAD_SINGLE;
    if (already) {
      MPI_Query_thread(&provided);
    } else {
      // Collectives run on libuv worker threads, one per communicator at a time; MULTIPLE lets the
      // three communicators (world, intra-node, inter-node) progress independently and lets the main
      // thread call MPI_Abort while a worker is blocked. With SERIALIZED the JS side runs one at a time.
      int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
      if (rc != MPI_SUCCESS) {
        napi_throw_error(env, nullptr, ("MPI_Init_thread failed: " + MpiErrorText(rc)).c_str());
        return nullptr;
      }
    }
    if (provided < MPI_THREAD_SERIALIZED) {
      napi_throw_error(env, nullptr,
                       "the MPI library provides only MPI_THREAD_SINGLE/FUNNELED; collectives on worker "
                       "threads need MPI_THREAD_SERIALIZED or better");
      return nullptr;
    }
    g_thread_level = provided;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_world_rank);
    g_comms.push_back({MPI_COMM_WORLD, "world"});
  }
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_int32(env, g_world_rank, &v);
  napi_set_named_property(env, out, "rank", v);
  napi_create_int32(env, size, &v);
  napi_set_named_property(env, out, "size", v);
  napi_create_string_utf8(env,
                          g_thread_level == MPI_THREAD_MULTIPLE ? "multiple"
                          : g_thread_level == MPI_THREAD_SERIALIZED ? "serialized"
                                                                     : "funneled",
                          NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "threadLevel", v);
  napi_create_int32(env, 0, &v);
  napi_set_named_property(env, out, "world", v);
  return out;
}

// commInfo(id) -> { rank, size, label }
napi_value CommInfo(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, 1, argv) || !RequireInit(env)) return nullptr;
  int32_t id;
  if (!GetComm(env, argv[0], &id)) return nullptr;
  int rank = 0, size = 0;
  MPI_Comm_rank(g_comms[id].comm, &rank);
  MPI_Comm_size(g_comms[id].comm, &size);
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_int32(env, rank, &v);
  napi_set_named_property(env, out, "rank", v);
  napi_create_int32(env, size, &v);
  napi_set_named_property(env, out, "size", v);
  napi_create_string_utf8(env, g_comms[id].label.c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "label", v);
  return out;
}

// allreduce(id, buf, op) in place
napi_value Allreduce(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv) || !RequireInit(env)) return nullptr;
  int32_t id;
  float* a;
  size_t n;
  MPI_Op op;
  if (!GetComm(env, argv[0], &id) || !GetFloat32(env, argv[1], &a, &n, "buffer") || !GetOp(env, argv[2], &op))
    return nullptr;
  Work* w = NewWork(Kind::kAllreduce, id);
  w->a = a;
  w->count = static_cast<int>(n);
  w->op = op;
  return Queue(env, w, argv + 1, 1);
}

// reduceScatterBlock(id, input, output, op): output.length elements per rank
napi_value ReduceScatterBlock(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv) || !RequireInit(env)) return nullptr;
  int32_t id;
  float *a, *b;
  size_t n, m;
  MPI_Op op;
  if (!GetComm(env, argv[0], &id) || !GetFloat32(env, argv[1], &a, &n, "input") ||
      !GetFloat32(env, argv[2], &b, &m, "output") || !GetOp(env, argv[3], &op))
    return nullptr;
  int size = 0;
  MPI_Comm_size(g_comms[id].comm, &size);
  if (ThrowIf(env, n != m * static_cast<size_t>(size), "input length must be output length × communicator size"))
    return nullptr;
  Work* w = NewWork(Kind::kReduceScatterBlock, id);
  w->a = a;
  w->b = b;
  w->count = static_cast<int>(m);
  w->op = op;
  return Queue(env, w, argv + 1, 2);
}

// allgather(id, chunk, output)
napi_value Allgather(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv) || !RequireInit(env)) return nullptr;
  int32_t id;
  float *a, *b;
  size_t n, m;
  if (!GetComm(env, argv[0], &id) || !GetFloat32(env, argv[1], &a, &n, "chunk") ||
      !GetFloat32(env, argv[2], &b, &m, "output"))
    return nullptr;
  int size = 0;
  MPI_Comm_size(g_comms[id].comm, &size);
  if (ThrowIf(env, m != n * static_cast<size_t>(size), "output length must be chunk length × communicator size"))
    return nullptr;
  Work* w = NewWork(Kind::kAllgather, id);
  w->a = a;
  w->b = b;
  w->count = static_cast<int>(n);
  return Queue(env, w, argv + 1, 2);
}

// bcast(id, buf, root); root is NOT range-checked here so MPI's own MPI_ERR_ROOT path stays reachable.
napi_value Bcast(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv) || !RequireInit(env)) return nullptr;
  int32_t id, root;
  float* a;
  size_t n;
  if (!GetComm(env, argv[0], &id) || !GetFloat32(env, argv[1], &a, &n, "buffer") ||
      !GetInt(env, argv[2], &root, "root must be a number"))
    return nullptr;
  Work* w = NewWork(Kind::kBcast, id);
  w->a = a;
  w->count = static_cast<int>(n);
  w->root = root;
  return Queue(env, w, argv + 1, 1);
}

napi_value Barrier(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, 1, argv) || !RequireInit(env)) return nullptr;
  int32_t id;
  if (!GetComm(env, argv[0], &id)) return nullptr;
  return Queue(env, NewWork(Kind::kBarrier, id), nullptr, 0);
}

// splitShared(id, key, label) -> promise of new id: the ranks that share memory (one node)
napi_value SplitShared(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, 3, argv) || !RequireInit(env)) return nullptr;
  int32_t id, key;
  char label[64] = {0};
  size_t len;
  if (!GetComm(env, argv[0], &id) || !GetInt(env, argv[1], &key, "key must be a number")) return nullptr;
  napi_get_value_string_utf8(env, argv[2], label, sizeof label, &len);
  Work* w = NewWork(Kind::kSplitShared, id);
  w->key = key;
  w->newLabel = label;
  return Queue(env, w, nullptr, 0);
}

// split(id, color, key, label) -> promise of new id
napi_value Split(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, 4, argv) || !RequireInit(env)) return nullptr;
  int32_t id, color, key;
  char label[64] = {0};
  size_t len;
  if (!GetComm(env, argv[0], &id) || !GetInt(env, argv[1], &color, "color must be a number") ||
      !GetInt(env, argv[2], &key, "key must be a number"))
    return nullptr;
  if (ThrowIf(env, color < 0, "color must be >= 0")) return nullptr;
  napi_get_value_string_utf8(env, argv[3], label, sizeof label, &len);
  Work* w = NewWork(Kind::kSplit, id);
  w->color = color;
  w->key = key;
  w->newLabel = label;
  return Queue(env, w, nullptr, 0);
}

// finalize(): frees sub-communicators, then MPI_Finalize. Caller guarantees no collective is in flight.
napi_value Finalize(napi_env env, napi_callback_info) {
  if (!g_comms.empty() && !g_finalized) {
    for (size_t i = 1; i < g_comms.size(); i++)
      if (g_comms[i].comm != MPI_COMM_NULL) MPI_Comm_free(&g_comms[i].comm);
    int rc = MPI_Finalize();
    g_finalized = true;
    if (rc != MPI_SUCCESS) {
      napi_throw(env, MakeMpiError(env, "MPI_Finalize", "world", rc));
      return nullptr;
    }
  }
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// abort(code): MPI_Abort on the world communicator; the launcher kills every rank. Does not return.
napi_value Abort(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t code = 1;
  if (argc >= 1) napi_get_value_int32(env, argv[0], &code);
  std::fflush(stdout);
  std::fflush(stderr);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized && !g_finalized) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

napi_value LibraryVersion(napi_env env, napi_callback_info) {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(text, &len);
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\0')) len--;
  napi_value v;
  napi_create_string_utf8(env, text, len, &v);
  return v;
}

napi_value State(napi_env env, napi_callback_info) {
  napi_value v;
  const char* s = g_finalized ? "finalized" : g_comms.empty() ? "uninitialized" : "initialized";
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value ModuleInit(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"commInfo", nullptr, CommInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allreduce", nullptr, Allreduce, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceScatterBlock", nullptr, ReduceScatterBlock, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allgather", nullptr, Allgather, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bcast", nullptr, Bcast, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"barrier", nullptr, Barrier, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"splitShared", nullptr, SplitShared, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"split", nullptr, Split, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finalize", nullptr, Finalize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"abort", nullptr, Abort, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"libraryVersion", nullptr, LibraryVersion, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"state", nullptr, State, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, ModuleInit)
