{
  "targets": [
    {
      "target_name": "native_backend",
      "sources": [
        "src/native/addon.c",
        "src/native/memory.c",
        "src/native/matmul.c",
        "src/native/elementwise.c",
        "src/native/reduce.c",
        "src/native/layout.c",
        "src/native/fused.c",
        "src/native/attention.c",
        "src/native/optim.c"
      ],
      "cflags_c": ["-std=gnu11", "-O3", "-fopenmp", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl", "-lgomp", "-lm"]
    }
  ]
}
