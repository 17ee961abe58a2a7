#!/usr/bin/env bash
# `wisesr plan` as users run it: bench JSON made here on the CPU (bench train, bench comm under mpirun
# -np 2, bench data on a synthetic prepared set) is used and named, and without it the figures are marked
# assumed; its step times equal tests/bench/scaling_model.py's on the same inputs; every configs/imagenet
# file prints time and cost on 8, 64 and 512 GPUs; bad inputs are one-line errors naming the thing, exit 1.
# Usage: plan.sh WISESR_BIN MPIEXEC SOURCE_DIR
set -euo pipefail
bin=$1
mpiexec=$2
src=$3
source "$src/tests/integration/lib.sh"
wisesr_test_dir plan
export OMP_NUM_THREADS=1

cat > tiny.cfg <<'CFG'
[model]
backbone = resnet-tiny
[data]
image_size = 64
[train]
batch_size = 8
epochs = 2
device = cpu
[plan]
train_images = 1000
val_images = 100
classes = 10
image_kb = 2
CFG

"$bin" bench train --model.backbone resnet-tiny --data.image_size 64 --train.batch_size 8 --steps 3 --warmup 1 \
  --breakdown-steps 1 --train.device cpu --train.threads 1 --no-sync --classes 10 --json train.json >/dev/null
"$mpiexec" -np 2 --oversubscribe "$bin" bench comm --sizes 1K,1M --iters 3 --json comm.json >/dev/null
benches=(train.json comm.json)
if "$bin" synth --out synth --classes 2 --per-class 16 --size 64 >/dev/null 2>&1; then
  "$bin" prep --input synth --out shards --size 64 --val-fraction 0.25 >/dev/null
  "$bin" bench data --data.dir shards --train.batch_size 8 --batches 3 --warmup 1 --threads 1 --json data.json >/dev/null
  benches+=(data.json)
else
  echo "no synth/prep in this build (OpenCV): skipping the bench data part"
fi

# With the bench files: the measured figures name their file; the JSON says the same.
"$bin" plan --config tiny.cfg --gpus 1,2,16 --bench "${benches[@]}" --json plan.json | tee plan.txt
for f in "${benches[@]}"; do grep -q "measured: $f" plan.txt || fail "plan does not name $f"; done
test "$(grep -c '^| [0-9]' plan.txt)" -eq 3 || fail "expected 3 table rows"
python3 - plan.json "$src/tests/bench" "${#benches[@]}" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
sys.path.insert(0, sys.argv[2])
import scaling_model as m
i = p["inputs"]
assert i["step_ms"]["source"] == "measured" and "train.json" in i["step_ms"]["from"], i["step_ms"]
assert i["nvlink_busbw"]["source"] == "measured" and "comm.json" in i["nvlink_busbw"]["from"], i["nvlink_busbw"]
assert i["ib_busbw"]["source"] == "assumed", i["ib_busbw"]
if int(sys.argv[3]) == 3:
    assert i["decode_per_core"]["source"] == "measured" and "data.json" in i["decode_per_core"]["from"]
one = p["rows"][0]
assert one["gpus"] == 1 and "step_ms" not in one["assumed"], one     # one GPU, bench batch: measured only
assert abs(one["step_ms"] - i["step_ms"]["value"]) < 1e-9, one
for row in p["rows"]:
    busbw = i["nvlink_busbw"]["value"] if row["gpus"] <= i["gpus_per_node"]["value"] else i["ib_busbw"]["value"]
    exposed = m.exposed_comm_ms(p["model"]["params"] * 4, i["backward_ms"]["value"], row["gpus"], busbw,
                                i["latency_us"]["value"])
    assert abs(row["exposed_ms"] - exposed) < 1e-9, (row, exposed)
    assert abs(row["step_ms"] - (i["step_ms"]["value"] + exposed)) < 1e-9, (row, exposed)
print("plan with bench files ok; step times equal scaling_model.py's")
PY

# Without them: the compute figures are assumed, and so marked.
"$bin" plan --config tiny.cfg --gpus 1 --json bare.json > bare.txt
grep -q "step_ms .*assumed: " bare.txt || fail "step time not marked assumed without a bench file"
grep -q '^| 1 | .*\*' bare.txt || fail "table cells not starred without a bench file"
python3 -c "import json,sys; r=json.load(open('bare.json'))['rows'][0]; assert 'step_ms' in r['assumed'], r"

# Every ImageNet config: time and cost on 8, 64 and 512 GPUs.
for cfg in "$src"/configs/imagenet/*.cfg; do
  "$bin" plan --config "$cfg" --gpus 8,64,512 > out.txt || fail "plan failed on $cfg"
  test "$(grep -c '^| [0-9]' out.txt)" -eq 3 || fail "$cfg: expected 3 rows"
  grep -q "cost (USD)" out.txt && grep -q "wall (h)" out.txt || fail "$cfg: no time or cost column"
  echo "$(basename "$cfg"): $(grep '^| 512 ' out.txt | cut -d'|' -f8,12,14)"
done

# Bad inputs: exit 1 and one line on stderr naming the thing.
# plan_error PATTERN ARGS...: `wisesr plan ARGS` fails like every bad input (lib.sh's expect_error).
plan_error() {
  local pattern=$1
  shift
  expect_error "plan $*" "$pattern" "$bin" plan "$@"
}
printf '{"step_ms": 3,' > corrupt.json
plan_error "cannot read config file 'nosuch.cfg'" --config nosuch.cfg --gpus 8
plan_error "cannot read bench file 'nosuch.json'" --config tiny.cfg --gpus 8 --bench nosuch.json
plan_error "'corrupt.json' is not valid JSON" --config tiny.cfg --gpus 8 --bench corrupt.json
plan_error "--gpus: '0' is not a GPU count" --config tiny.cfg --gpus 0
plan_error "'train.json' measured resnet-tiny+wise at 64 px, but the config trains resnet50+wise at 224 px" \
  --config "$src/configs/imagenet/resnet50_wise_224.cfg" --gpus 8 --bench train.json
echo "plan ok"
