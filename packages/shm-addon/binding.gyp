{
  "targets": [
    {
      "target_name": "shm_addon",
      "sources": ["src/addon.c"],
      "cflags_c": ["-std=c11", "-O2"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
