#!/usr/bin/env bash
# Input-pipeline throughput: `wisesr bench data` on real 512x512 q90 JPEG shards (prepared here from
# photo-like 1024x768 q90 JPEGs), with 1 decode thread and with every core, on the CPU (and with
# --train.device cuda as well when a GPU is present: libjpeg-turbo into pinned batches + async copy, and
# nvJPEG on the GPU, side by side; the augmentation runs on the GPU in both).
# Next to each CPU run of wisesr (1 thread and every core), the same rows from what a PyTorch user would
# run on the same shards with as many workers (tests/bench/torchvision_loader.py: torch DataLoader, h5py,
# PIL decode, torchvision.transforms.v2 Keras recipe), alternating, then a table of wisesr / torchvision.
# Usage: tests/bench/data_bench.sh [N_IMAGES] [SIZE] [DATA_DIR]   (from the repo root, after a build)
# With DATA_DIR holding prepared shards already, they are reused (and N_IMAGES ignored).
#   environment: TORCHVISION auto (default: the torchvision rows when torchvision and h5py import, else a
#   note) | 1 (required) | 0 (skipped); REPEATS (1) alternations per thread count, medians in the table;
#   OUT (a temp dir) keeps the JSON of every run
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/launch/common.sh"
py=$(wisesr_torch_python)
bin=$(wisesr_bin)
n=${1:-1000}
size=${2:-512}
data=${3:-}
reps=${REPEATS:-1}
tv=${TORCHVISION:-auto}
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-databench-XXXXXX")
trap 'rm -rf "$work"' EXIT
out=${OUT:-$work/results}
mkdir -p "$out"
if [[ $tv != 0 ]] && ! "$py" -c 'import torchvision, h5py' 2>/dev/null; then
  [[ $tv == 1 ]] && { echo "TORCHVISION=1 but $py cannot import torchvision and h5py" >&2; exit 1; }
  echo "(no torchvision or h5py in $py: torchvision DataLoader rows skipped; TORCHVISION=0 skips them silently)"
  tv=0
fi
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
index = json.load(open(f"{d}/index.json"))
files = [s["file"] for s in index["splits"]["train"]["shards"]]
recs = []
storage = index["storage"]
if storage != "jpeg":
    print(f"PIL decode only: skipped ({storage} shards hold pixels, nothing to decode)")
    sys.exit(0)
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
# The vector kernel at 1 thread and every core, each run followed by the torchvision DataLoader with as many
# workers on the same records (both take these options: the spellings of `wisesr bench data`).
opts=(--data.dir "$data" --train.batch_size 64 --batches 10 --warmup 2)
if [[ $tv != 0 ]]; then
  "$py" "$root/tests/bench/torchvision_loader.py" "${opts[@]}" --threads "$cores" --check
fi
for threads in 1 "$cores"; do
  for rep in $(seq "$reps"); do
    "$bin" bench data "${opts[@]}" --threads "$threads" --data.augment keras --json "$out/wisesr-t$threads-$rep.json"
    if [[ $tv != 0 ]]; then
      "$py" "$root/tests/bench/torchvision_loader.py" "${opts[@]}" --threads "$threads" --mode both \
        --json "$out/torchvision-t$threads-$rep.json" >/dev/null
    fi
  done
done
if [[ $tv != 0 ]]; then
  printf '\nwisesr bench data vs torchvision DataLoader (same shards, records and workers), median of %s%s\n' \
    "$reps" "${OUT:+, JSON in $OUT}"
  "$py" - "$out" "$reps" 1 "$cores" <<'PY'
import json, statistics, sys
out, reps, threads = sys.argv[1], int(sys.argv[2]), list(dict.fromkeys(sys.argv[3:]))
def rate(impl, t, mode):
    runs = [json.load(open(f"{out}/{impl}-t{t}-{r}.json")) for r in range(1, reps + 1)]
    return statistics.median(next(row["img_per_s"] for row in j["rows"] if row["mode"] == mode) for j in runs)
print("| mode | threads = workers | wisesr img/s | wisesr img/s/core | torchvision img/s | torchvision img/s/core"
      " | wisesr / torchvision |")
print("|" + "---|" * 7)
for t in threads:
    for mode, name in (("decode", "decode"), ("keras", "decode + keras augmentation")):
        w, v = rate("wisesr", t, mode), rate("torchvision", t, mode)
        print(f"| {name} | {t} | {w:.1f} | {w / int(t):.1f} | {v:.1f} | {v / int(t):.1f} | {w / v:.2f}x |")
PY
fi
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  for decode in cpu nvjpeg; do
    "$bin" bench data --data.dir "$data" --train.batch_size 64 --batches 20 --warmup 3 --threads "$cores" \
      --data.augment keras --train.device cuda --data.decode "$decode"
  done
  # nvJPEG with a single reader thread: what the GPU decoder needs of the CPU.
  "$bin" bench data --data.dir "$data" --train.batch_size 64 --batches 20 --warmup 3 --threads 1 \
    --data.augment keras --train.device cuda --data.decode nvjpeg
fi
