#!/usr/bin/env bash
# The benchmarks as users run them, on the CPU: `mpirun -np 2 wisesr bench comm` (table with bus bandwidth,
# exact results), `mpirun -np 2 wisesr bench train` (GradSync really all-reducing across 2 ranks), and the
# PyTorch reference (tests/bench/train_reference.py) writing the same JSON keys as `wisesr bench train`.
# Usage: bench.sh WISESR_BIN MPIEXEC PYTHON SOURCE_DIR
set -euo pipefail
bin=$1
mpiexec=$2
python=$3
src=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1

"$mpiexec" -np 2 --oversubscribe "$bin" bench comm --sizes 1K,64K --iters 3 --json comm.json | tee comm.log
grep -q "busbw" comm.log || { echo "FAIL: no bus bandwidth column"; exit 1; }
grep -q "backend mpi" comm.log || { echo "FAIL: backend not named"; exit 1; }
test "$(grep -c '^ ' comm.log)" -eq 2 || { echo "FAIL: expected 2 size rows"; exit 1; }
python3 - comm.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ranks"] == 2 and r["backend"] == "mpi" and r["bus_factor"] == 1.0, r
assert [row["bytes"] for row in r["rows"]] == [1024, 65536], r
for row in r["rows"]:
    assert row["wrong"] == 0 and row["time_us"] > 0, row
    assert abs(row["algbw_gbps"] - row["bytes"] / row["time_us"] / 1e3) < 1e-6 * row["algbw_gbps"], row
    assert abs(row["busbw_gbps"] - row["algbw_gbps"]) < 1e-12, row   # 2(n-1)/n = 1 for n = 2
print("bench comm ok")
PY

"$mpiexec" -np 2 --oversubscribe "$bin" bench train --model.backbone resnet-tiny --model.head wise \
  --data.image_size 64 --train.batch_size 2 --steps 3 --warmup 1 --breakdown-steps 1 --train.device cpu \
  --train.threads 1 --json train.json | tee train.log
test "$(wc -l < train.log)" -eq 1 || { echo "FAIL: expected one summary line from rank 0"; exit 1; }
python3 - train.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ranks"] == 2 and r["backend"] == "mpi" and r["grad_buckets"] >= 1, r
assert abs(r["img_per_s"] - 2 * 2 * 1000.0 / r["step_ms"]) < 1e-6 * r["img_per_s"], r   # batch x ranks
print("bench train (2 ranks) ok")
PY

if "$python" -c 'import torch, torchvision' 2>/dev/null; then
  opts=(--model.backbone resnet18 --model.head wise --data.image_size 64 --train.batch_size 2 --steps 2 --warmup 1
        --breakdown-steps 1 --train.device cpu --train.threads 1 --classes 10)
  "$python" "$src/tests/bench/train_reference.py" "${opts[@]}" --json ref.json
  "$bin" bench train "${opts[@]}" --no-sync --json ours.json
  python3 - ref.json ours.json <<'PY'
import json, sys
ref, ours = (json.load(open(p)) for p in sys.argv[1:])
assert sorted(ref) == sorted(ours), set(ref) ^ set(ours)
assert ref["params"] == ours["params"], (ref["params"], ours["params"])   # the same model
assert ref["impl"] == "pytorch-eager" and ref["img_per_s"] > 0, ref
print("reference keys and parameter count match")
PY
else
  echo "skipping the reference check: $python lacks torch/torchvision"
fi
# The scaling model reads the bench JSON; with one GPU nothing is exposed, and more GPUs never get faster
# per image than the measured step.
python3 "$src/tests/bench/scaling_model.py" --bench train.json --gpus 1,8,64 > scaling.md
python3 - scaling.md train.json <<'PY'
import json, sys
rows = [l.split("|")[1:-1] for l in open(sys.argv[1]) if l.startswith("| ") and not l.startswith("| GPUs")]
step = json.load(open(sys.argv[2]))["step_ms"]
assert [int(r[0]) for r in rows] == [1, 8, 64], rows
assert float(rows[0][3]) == 0.0 and abs(float(rows[0][2]) - step) < 0.06, (rows[0], step)
assert all(float(r[2]) >= float(rows[0][2]) - 0.06 and float(r[3]) >= 0 for r in rows), rows
print("scaling model ok")
PY
echo "bench: passed"
