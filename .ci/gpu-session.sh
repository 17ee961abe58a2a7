#!/usr/bin/env bash
# A session on the GPU machine (one H200, no network, no OpenCV; the tool library's `device` entry):
# the GPU checks and benchmarks of the issues in stages that each fit one `run` call (10 min).
#
#   here, once:  .ci/gpu-session.sh prepare
#       downloads the Debian packages the GPU machine lacks or may lack (Boost.Program_options,
#       nlohmann-json, OpenSSL and TurboJPEG headers) into .deps/ (git-ignored) and prepares real JPEG shards there (prep needs OpenCV, which
#       the GPU machine does not have): .deps/shards224 (1,000 records) and .deps/shards512 (400).
#   there, with carry [".deps"]:  .ci/gpu-session.sh STAGE...   (logs and JSON under $OUT)
#       build        configure (torch's CMake config from python3, no OpenCV) and build into build-gpu
#       test         the GPU tests (NvJpeg, StepGraph, TrainStep, gpu_nccl_np1), then the rest of ctest
#       bench-train  tests/bench/train_bench.sh at the issue's configs, with real shards (DATA), then
#                    tests/bench/scaling_model.py on the measured ResNet-50 steps
#       bench-data   tests/bench/data_bench.sh on the 512² shards (cpu vs nvjpeg), and bench comm
# e.g. run: .ci/gpu-session.sh build test  ;  then  .ci/gpu-session.sh bench-train ;  then  bench-data
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
deps_dir=$root/.deps
out=${OUT:-$root/gpu-session-out}
mkdir -p "$out"
export WISESR_BUILD_DIR=${WISESR_BUILD_DIR:-$root/build-gpu}
source "$root/launch/common.sh"

prepare() {
  mkdir -p "$deps_dir"
  (cd "$deps_dir" && apt-get download libboost-program-options1.74.0 libboost-program-options1.74-dev \
    libboost1.74-dev nlohmann-json3-dev libssl-dev libssl3 libturbojpeg0 libturbojpeg0-dev)
  local py bin work
  py=$(wisesr_torch_python)
  bin=$(WISESR_BUILD_DIR=$root/build wisesr_bin)
  [[ -x $bin ]] || { wisesr_log "build wisesr here first (./launch/test.sh)"; return 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-gpu-prep-XXXXXX")
  "$py" "$root/tests/bench/make_jpegs.py" 1000 "$work/in"
  rm -rf "$deps_dir/shards224" "$deps_dir/shards512"
  "$bin" prep --input "$work/in" --out "$deps_dir/shards224" --size 224 --quality 90 --val-fraction 0
  rm -rf "$work/in" && "$py" "$root/tests/bench/make_jpegs.py" 400 "$work/in"
  "$bin" prep --input "$work/in" --out "$deps_dir/shards512" --size 512 --quality 90 --val-fraction 0
  rm -rf "$work"
  du -sh "$deps_dir"  # carry allows 64 MiB in all
}

# The carried packages, unpacked where the build and the binaries find them.
use_deps() {
  local debs=("$deps_dir"/*.deb)
  [[ -e ${debs[0]} ]] || { echo "no .deb files in $deps_dir: run 'prepare' here and carry .deps" >&2; exit 2; }
  mkdir -p /tmp/deps
  local f
  for f in "${debs[@]}"; do dpkg -x "$f" /tmp/deps; done
  # After the system's own libraries: ours only fill in what the machine lacks.
  export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/tmp/deps/usr/lib/x86_64-linux-gnu
}

build() {
  local torch_prefix gen=()
  torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S "$root" -B "$WISESR_BUILD_DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$torch_prefix;/tmp/deps/usr" -DBoost_NO_SYSTEM_PATHS=ON -DBOOST_ROOT=/tmp/deps/usr \
    -DWISESR_WITH_OPENCV=OFF -DWISESR_WITH_NCCL=ON -DWISESR_PYTHON="$(command -v python3)"
  cmake --build "$WISESR_BUILD_DIR" -j "$(nproc)"
}

run_tests() {
  local status=0
  # GPU tests skip (and count as passed) without a GPU: make sure this session really has one.
  nvidia-smi
  python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    { echo "torch sees no CUDA GPU: the GPU tests would only skip" >&2; return 1; }
  (cd "$WISESR_BUILD_DIR" && ctest -R 'NvJpeg|StepGraph|TrainStep|gpu_nccl' --no-tests=error --output-on-failure -V) ||
    status=1
  (cd "$WISESR_BUILD_DIR" && ctest -E 'NvJpeg|StepGraph|TrainStep|gpu_nccl' -j 8 --output-on-failure) || status=1
  return "$status"
}

bench_train() {
  OUT=$out/train224 DATA=$deps_dir/shards224 tests/bench/train_bench.sh resnet50:wise:224:256
  OUT=$out/train512 DATA=$deps_dir/shards512 tests/bench/train_bench.sh resnet50:wise:512:64 densenet201:wise:512:32
  # The scaling tables of docs/scaling.md from the measured single-GPU steps.
  local j
  for j in "$out/train224/resnet50-wise-224-256.none.json" "$out/train512/resnet50-wise-512-64.none.json"; do
    echo "scaling model from $j:"
    python3 tests/bench/scaling_model.py --bench "$j"
  done
}

bench_data() {
  tests/bench/data_bench.sh 0 512 "$deps_dir/shards512"
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 1 "$(wisesr_bin)" bench comm
}

[[ $# -gt 0 ]] || { sed -n '2,14p' "$0"; exit 2; }
for stage in "$@"; do
  case $stage in
    prepare) prepare ;;
    build) use_deps; build 2>&1 | tee "$out/build.log" ;;
    test) use_deps; run_tests 2>&1 | tee "$out/test.log" ;;
    bench-train) use_deps; bench_train 2>&1 | tee "$out/bench-train.log" ;;
    bench-data) use_deps; bench_data 2>&1 | tee "$out/bench-data.log" ;;
    *) echo "unknown stage '$stage' (prepare | build | test | bench-train | bench-data)" >&2; exit 2 ;;
  esac
done
