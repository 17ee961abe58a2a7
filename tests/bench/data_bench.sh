#!/usr/bin/env bash
# Input-pipeline throughput: `wisesr bench data` on real 512x512 q90 JPEG shards (prepared here from
# photo-like 1024x768 q90 JPEGs), with 1 decode thread and with every core, on the CPU (and with
# --train.device cuda as well when a GPU is present: libjpeg-turbo into pinned batches + async copy, and
# nvJPEG on the GPU, side by side; the augmentation runs on the GPU in both).
# Usage: tests/bench/data_bench.sh [N_IMAGES] [SIZE] [DATA_DIR]   (from the repo root, after a build)
# With DATA_DIR holding prepared shards already, they are reused (and N_IMAGES ignored).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/launch/common.sh"
py=$(wisesr_torch_python)
bin=$(wisesr_bin)
n=${1:-1000}
size=${2:-512}
data=${3:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-databench-XXXXXX")
trap 'rm -rf "$work"' EXIT
if [[ -z "$data" || ! -f "$data/index.json" ]]; then
  data=${data:-$work/shards}
  "$py" "$root/tests/bench/make_jpegs.py" "$n" "$work/in"
  "$bin" prep --input "$work/in" --out "$data" --size "$size" --quality 90 --val-fraction 0 >/dev/null
fi
cores=$(nproc)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores; shards: $data"
# Context: libjpeg-turbo through PIL on the same records, decode only, one thread (what no pipeline beats).
"$py" - "$data" <<'PY'
import io, json, sys, time
import h5py
from PIL import Image
d = sys.argv[1]
files = [s["file"] for s in json.load(open(f"{d}/index.json"))["splits"]["train"]["shards"]]
recs = []
for name in files:
    with h5py.File(f"{d}/{name}", "r") as f:
        off, data = f["offsets"][:], f["images"]
        recs += [bytes(data[off[i]:off[i + 1]]) for i in range(len(off) - 1)]
    if len(recs) >= 640:
        break
recs = recs[:640]
t = time.perf_counter()
for r in recs:
    Image.open(io.BytesIO(r)).convert("RGB").load()
dt = time.perf_counter() - t
print(f"PIL decode only (1 thread): {len(recs) / dt:.1f} img/s")
PY
# The CPU augmentation kernel side by side: the scalar reference, then the vector kernel (AVX2 where present).
WISESR_CPU_KERNEL=scalar "$bin" bench data --data.dir "$data" --train.batch_size 64 --batches 10 --warmup 2 \
  --threads 1 --data.augment keras
for threads in 1 "$cores"; do
  "$bin" bench data --data.dir "$data" --train.batch_size 64 --batches 10 --warmup 2 --threads "$threads" \
    --data.augment keras
done
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  for decode in cpu nvjpeg; do
    "$bin" bench data --data.dir "$data" --train.batch_size 64 --batches 20 --warmup 3 --threads "$cores" \
      --data.augment keras --train.device cuda --data.decode "$decode"
  done
  # nvJPEG with a single reader thread: what the GPU decoder needs of the CPU.
  "$bin" bench data --data.dir "$data" --train.batch_size 64 --batches 20 --warmup 3 --threads 1 \
    --data.augment keras --train.device cuda --data.decode nvjpeg
fi
