{
  "targets": [
    {
      "target_name": "shm_addon",
      "sources": ["src/addon.c"],
      "cflags_c": ["-std=gnu11", "-O3"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
