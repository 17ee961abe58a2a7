# Shared by the launch scripts (sourced, not run). Paths and the build helper; no training logic here.
#   WISESR_CACHE      where the LibTorch venv lives (default ~/.cache/wisesr), reused across clones
#   WISESR_BUILD_DIR  CMake build directory (default <repo>/build)
#   Torch_DIR / LIBTORCH_DIR  use your own LibTorch instead of the PyPI wheel

WISESR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WISESR_CACHE=${WISESR_CACHE:-$HOME/.cache/wisesr}
WISESR_TORCH_VERSION=2.11.0
WISESR_BUILD_DIR=${WISESR_BUILD_DIR:-$WISESR_ROOT/build}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}

wisesr_log() { printf '[wisesr] %s\n' "$*" >&2; }

wisesr_python() { command -v python3 || { wisesr_log "python3 not found"; return 1; }; }

wisesr_venv_dir() {
  local ver
  ver=$("$(wisesr_python)" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  echo "$WISESR_CACHE/venv-torch$WISESR_TORCH_VERSION-py$ver"
}

# The Python with torch (benchmarks, references, parity tests): our venv's, else python3 when it has
# torch itself (e.g. a GPU machine without network, where setup.sh cannot run).
wisesr_torch_python() {
  local venv sys
  venv="$(wisesr_venv_dir)/bin/python"
  if [[ -x $venv ]]; then echo "$venv"; return; fi
  sys=$(wisesr_python) || return 1
  if "$sys" -c 'import torch' 2>/dev/null; then echo "$sys"; return; fi
  wisesr_log "no Python with torch: run ./launch/setup.sh"
  return 1
}

# The built wisesr executable.
wisesr_bin() { echo "$WISESR_BUILD_DIR/bin/wisesr"; }

# CMAKE_PREFIX_PATH entry for LibTorch: the user's, or the wheel's in our venv.
wisesr_torch_prefix() {
  if [[ -n "${Torch_DIR:-}" ]]; then echo "$Torch_DIR"; return; fi
  if [[ -n "${LIBTORCH_DIR:-}" ]]; then echo "$LIBTORCH_DIR"; return; fi
  "$(wisesr_venv_dir)/bin/python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)'
}

# Configure (once) and build the given targets (default: all).
wisesr_build() {
  local prefix
  prefix=$(wisesr_torch_prefix)
  if [[ ! -f "$WISESR_BUILD_DIR/build.ninja" ]]; then
    wisesr_log "configuring $WISESR_BUILD_DIR"
    cmake -S "$WISESR_ROOT" -B "$WISESR_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" ${WISESR_CMAKE_ARGS:-} >"$WISESR_BUILD_DIR.configure.log" 2>&1 || {
      cat "$WISESR_BUILD_DIR.configure.log" >&2
      return 1
    }
    grep -E '^-- wisesr ' "$WISESR_BUILD_DIR.configure.log" >&2 || true
  fi
  cmake --build "$WISESR_BUILD_DIR" -j "$(nproc)" ${1:+--target "$@"}
}

# mpirun with the flags a single machine needs (root in containers; more ranks than cores).
wisesr_mpirun() {
  local extra=()
  [[ $(id -u) -eq 0 ]] && extra+=(--allow-run-as-root)
  mpirun "${extra[@]}" --oversubscribe "$@"
}

# Number of CUDA GPUs visible (0 without a driver).
wisesr_gpu_count() {
  if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true; else echo 0; fi
}
