#!/usr/bin/env bash
# The CPU training step against PyTorch eager, side by side in one run: for each config, REPEATS
# alternations of the reference (tests/bench/train_reference.py: torchvision backbone + the Wise-SrNet head,
# SGD momentum + clamp, zero_grad(set_to_none)) and `wisesr bench train --no-sync` (and, with BASELINE, an
# older wisesr binary in the same alternation), fp32, on the CPU, THREADS intra-op threads each; then a
# Markdown table of median img/s and the ratios. Configs whose backbone the reference lacks (resnet-tiny)
# compare wisesr with BASELINE only.
# Usage: tests/bench/train_cpu_bench.sh [MODEL:HEAD:SIZE:BATCH ...]      (repo root, after a build)
#   default configs: resnet18:wise:128:16 resnet50:wise:224:8 resnet-tiny:wise:64:32 (issue 20's and the
#   quickstart's); environment: REPEATS (3), STEPS (30), WARMUP (5), THREADS (all cores), CLASSES (1000),
#   BASELINE (another wisesr binary), OUT (a temp dir: every run's JSON)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/launch/common.sh"
source "$root/tests/bench/lib.sh"
py=$(wisesr_torch_python)
bin=$(wisesr_bin)
reps=${REPEATS:-3}
threads=${THREADS:-$(nproc)}
baseline=${BASELINE:-}
configs=("$@")
[[ ${#configs[@]} -gt 0 ]] || configs=(resnet18:wise:128:16 resnet50:wise:224:8 resnet-tiny:wise:64:32)
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wisesr-train-cpu-bench-XXXXXX")}
mkdir -p "$out"
refs=$(PYTHONPATH="$root/tests/bench" "$py" -c 'import train_reference as t; print(" ".join(t.BACKBONES))')

for c in "${configs[@]}"; do
  bench_config "$c"
  opts=("${config_opts[@]}" --steps "${STEPS:-30}" --warmup "${WARMUP:-5}" --breakdown-steps 0 --train.precision fp32
        --train.device cpu --train.threads "$threads" --classes "${CLASSES:-1000}")
  for r in $(seq "$reps"); do
    if [[ " $refs " == *" $model "* ]]; then
      "$py" "$root/tests/bench/train_reference.py" "${opts[@]}" --json "$out/$tag.ref.$r.json" >&2
    fi
    "$bin" bench train "${opts[@]}" --no-sync --json "$out/$tag.new.$r.json" >&2
    [[ -z $baseline ]] || "$baseline" bench train "${opts[@]}" --no-sync --json "$out/$tag.old.$r.json" >&2
  done
done

printf '\n%s thread(s), fp32, CPU (%s), median of %s alternations; JSON in %s\n\n' "$threads" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$reps" "$out"
"$py" - "$out" "$reps" "${configs[@]}" <<'PY'
import json, os, statistics, sys
out, reps, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def runs(tag, kind):
    files = [f"{out}/{tag}.{kind}.{r}.json" for r in range(1, reps + 1)]
    return [json.load(open(f))["img_per_s"] for f in files if os.path.exists(f)]
fmt = lambda xs: " / ".join(f"{x:.1f}" for x in xs) if xs else "n/a"
print("| model | size | batch | PyTorch eager img/s | wisesr img/s | wisesr / eager (median) | baseline wisesr img/s"
      " | wisesr / baseline (median) |")
print("|" + "---|" * 8)
for c in configs:
    model, head, size, batch = c.split(":")
    tag = f"{model}-{head}-{size}-{batch}"
    ref, new, old = runs(tag, "ref"), runs(tag, "new"), runs(tag, "old")
    ratio = lambda a, b: f"{statistics.median(a) / statistics.median(b):.2f}x" if a and b else "n/a"
    print(f"| {model} | {size} | {batch} | {fmt(ref)} | {fmt(new)} | {ratio(new, ref)} | {fmt(old)} | {ratio(new, old)} |")
PY
