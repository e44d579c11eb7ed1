{
  "targets": [
    {
      "target_name": "blas_addon",
      "sources": ["src/addon.c"],
      "cflags_c": ["-std=c11", "-O2", "<!@(node scripts/blas-flags.mjs compile)"],
      "libraries": ["<!@(node scripts/blas-flags.mjs link)"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
