#!/usr/bin/env bash
# Installs everything wisesr needs, idempotently; fast when all is present.
#  - Debian packages (toolchain, CMake/Ninja/ccache, Open MPI, HDF5, OpenCV, Boost.PO, GoogleTest, Slurm,
#    libjpeg-turbo, nlohmann-json, protobuf for TensorBoard event files, clang-format 14 for the style
#    test); apt runs only when something is missing.
#  - LibTorch 2.11.0 (CUDA 13) from the PyPI wheel torch==2.11.0 in a versioned venv under
#    $WISESR_CACHE (default ~/.cache/wisesr), outside the clone; skipped when Torch_DIR or
#    LIBTORCH_DIR names your own LibTorch. NCCL is the one that wheel ships.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# slurmctld/slurmd/slurm-client: the tests run a real two-node Slurm on 127.0.0.1 (tests/cluster/).
packages=(build-essential cmake ninja-build ccache pkg-config git python3 python3-venv
  openmpi-bin libopenmpi-dev libhdf5-dev libopencv-dev libboost-program-options-dev
  libgtest-dev libturbojpeg0-dev libjpeg62-turbo-dev nlohmann-json3-dev zlib1g-dev libssl-dev clang-format
  libprotobuf-dev protobuf-compiler
  slurmctld slurmd slurm-client iproute2 procps)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  wisesr_log "installing Debian packages: ${missing[*]}"
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  # Installing slurmctld/slurmd (and munge) must not start their daemons: the tests start their own. Where
  # no policy-rc.d already forbids it, one does for the duration of the install.
  policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    rc=$?
  [[ -n "$policy" ]] && "${sudo[@]}" rm -f "$policy"
  ((rc == 0)) || exit "$rc"
fi

if [[ -n "${Torch_DIR:-}${LIBTORCH_DIR:-}" ]]; then
  wisesr_log "using your LibTorch (${Torch_DIR:-$LIBTORCH_DIR})"
  exit 0
fi

venv=$(wisesr_venv_dir)
# h5py/pillow: reading shards from Python (docs/shard-format.md); torchvision/timm: the parity tests;
# nvidia-nvjpeg: GPU JPEG decoding (--data.decode nvjpeg), the CUDA 13.0 release that torch's wheel uses;
# matplotlib: the training curves of `wisesr report` (python/wisesr_report.py); tensorboard: reading
# --train.tensorboard event files back in the tests (and `tensorboard --logdir` for users).
extras=(numpy h5py pillow "torchvision==0.26.0" timm "nvidia-nvjpeg==13.0.*" matplotlib tensorboard)
if "$venv/bin/python" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$WISESR_TORCH_VERSION')" \
  2>/dev/null; then
  "$venv/bin/python" -c "import numpy, h5py, PIL, torchvision, timm, matplotlib, tensorboard, importlib.metadata as m; m.version('nvidia-nvjpeg')" \
    2>/dev/null ||
    "$venv/bin/python" -m pip install -q "${extras[@]}"
  exit 0
fi
wisesr_log "installing torch==$WISESR_TORCH_VERSION into $venv (one-time, several GB)"
mkdir -p "$WISESR_CACHE"
rm -rf "$venv.partial"
"$(wisesr_python)" -m venv "$venv.partial"
"$venv.partial/bin/pip" install -q --upgrade pip
"$venv.partial/bin/pip" install -q "torch==$WISESR_TORCH_VERSION" "${extras[@]}"
# Venvs hard-code their own path in scripts; pip is not used after the move, python is.
rm -rf "$venv"
mv "$venv.partial" "$venv"
"$venv/bin/python" -c "import torch; print('[wisesr] torch', torch.__version__, 'CUDA', torch.version.cuda)" >&2
