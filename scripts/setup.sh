#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine with Node 20, then builds.
# Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  # zstd: test shards (the reader itself uses zstd-napi); chromium: the report page test;
  # Open MPI: the optional --transport mpi (packages/mpi-addon is built against it when present);
  # OpenBLAS: the wasm backend's matmul (packages/blas-addon is built against it when present).
  # oneDNN: the native CPU backend (packages/native-backend is built against it when present).
  # Slurm + munge, iproute2: the cluster tests start a one-node Slurm and network-namespace "hosts".
  need=()
  for p in zstd chromium openmpi-bin libopenmpi-dev libopenblas-dev libdnnl-dev slurm-wlm munge iproute2; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
  # Mesa's Vulkan drivers (llvmpipe: a software GPU) for the webgpu backend's tests. Dawn refuses
  # bookworm's Mesa 22.3 ("shaderUniform*ArrayDynamicIndexing required"); bookworm-backports has 25.
  mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if [ "${mesa%%.*}" = "" ] || [ "${mesa%%.*}" -lt 25 ] 2>/dev/null; then
    if grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
      src=/etc/apt/sources.list.d/bookworm-backports.sources
      if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$src"
      fi
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1
    else
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1
    fi
  fi
fi
if [ "$(pnpm --version 2>/dev/null)" != "12.4.2" ]; then
  npm i -g pnpm@12.4.2 >/dev/null
fi
# zstd-napi is built by node-gyp; point it at the Node headers the distribution ships.
if [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi
pnpm install --frozen-lockfile
pnpm build
