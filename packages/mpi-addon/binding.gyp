{
  "targets": [
    {
      "target_name": "mpi_addon",
      "sources": ["src/addon.cc"],
      "cflags_cc": ["-std=c++17", "<!@(node scripts/mpi-flags.mjs compile)"],
      "libraries": ["<!@(node scripts/mpi-flags.mjs link)"],
      "defines": ["NAPI_VERSION=8", "OMPI_SKIP_MPICXX=1", "MPICH_SKIP_MPICXX=1"]
    }
  ]
}
