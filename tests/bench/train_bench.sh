#!/usr/bin/env bash
# Training throughput: `wisesr bench train` vs the PyTorch eager reference (tests/bench/train_reference.py),
# side by side in one run on the same synthetic batch, one config after another. For each config:
#   reference (bf16 autocast + channels_last on CUDA), wisesr --no-sync, wisesr with GradSync (over one
#   rank, NCCL on a GPU: --train.backend auto) -- both with a whole-step CUDA graph where it applies
#   (--train.cuda_graph auto) -- and wisesr --no-sync --train.cuda_graph off (eager steps), each a separate
#   process; then a Markdown table of the ratios.
# Usage: tests/bench/train_bench.sh [MODEL:HEAD:SIZE:BATCH ...]     (from the repo root, after a build)
#   default configs: the issue's goals, resnet50:wise:224:256 resnet50:wise:512:64 densenet201:wise:512:32
#   environment: STEPS (50), WARMUP (10), DEVICE (auto), PRECISION (auto), CLASSES (1000), OUT (a temp dir),
#   DATA (prepared shards: adds a run fed from them through the input pipeline, and a real-vs-synthetic
#   table with the data-wait fraction; DECODE (auto) picks its decoder)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/launch/common.sh"
source "$root/tests/bench/lib.sh"
py=$(wisesr_torch_python)
bin=$(wisesr_bin)
steps=${STEPS:-50}
warmup=${WARMUP:-10}
device=${DEVICE:-auto}
precision=${PRECISION:-auto}
classes=${CLASSES:-1000}
configs=("$@")
[[ ${#configs[@]} -gt 0 ]] || configs=(resnet50:wise:224:256 resnet50:wise:512:64 densenet201:wise:512:32)
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wisesr-train-bench-XXXXXX")}
mkdir -p "$out"

for c in "${configs[@]}"; do
  bench_config "$c"
  opts=("${config_opts[@]}" --steps "$steps" --warmup "$warmup" --train.precision "$precision" --train.device "$device" --classes "$classes")
  "$py" "$root/tests/bench/train_reference.py" "${opts[@]}" --json "$out/$tag.ref.json" >&2
  "$bin" bench train "${opts[@]}" --no-sync --json "$out/$tag.none.json" >&2
  "$bin" bench train "${opts[@]}" --train.backend auto --json "$out/$tag.sync.json" >&2
  "$bin" bench train "${opts[@]}" --no-sync --train.cuda_graph off --json "$out/$tag.eager.json" >&2
  if [[ -n ${DATA:-} ]]; then
    "$bin" bench train "${opts[@]}" --no-sync --data.dir "$DATA" --data.decode "${DECODE:-auto}" \
      --json "$out/$tag.real.json" >&2
  fi
done

gpu=""
if command -v nvidia-smi >/dev/null; then gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 || true); fi
printf '\nsteps %s after %s warm-up (median step time), device %s%s, results in %s\n\n' "$steps" "$warmup" \
  "$device" "${gpu:+ ($gpu)}" "$out"
"$py" - "$out" "${configs[@]}" <<'PY'
import json, os, sys
out, configs = sys.argv[1], sys.argv[2:]
gib = 2 ** 30
print("| model | head | size | batch | precision | reference img/s | wisesr img/s | ratio | wisesr + GradSync img/s"
      " | sync overhead | wisesr eager img/s | CUDA graph gain | reference peak GiB | wisesr peak GiB"
      " | memory ratio | wisesr fwd / bwd / opt ms (eager) |")
print("|" + "---|" * 16)
for c in configs:
    model, head, size, batch = c.split(":")
    tag = f"{model}-{head}-{size}-{batch}"
    ref, ours, sync, eager = (json.load(open(f"{out}/{tag}.{k}.json")) for k in ("ref", "none", "sync", "eager"))
    mem = lambda r: r["peak_mem_bytes"] or r["max_rss_bytes"]  # CPU: peak RSS instead
    overhead = ours["step_ms"] and (sync["step_ms"] / ours["step_ms"] - 1) * 100
    phases = "n/a" if ours["forward_ms"] is None else \
        f'{ours["forward_ms"]:.1f} / {ours["backward_ms"]:.1f} / {ours["optimizer_ms"]:.1f}'
    print(f'| {model} | {head} | {size} | {batch} | {ours["precision"]} | {ref["img_per_s"]:.1f} | '
          f'{ours["img_per_s"]:.1f}{" (graph)" if ours["cuda_graph"] else ""} | '
          f'{ours["img_per_s"] / ref["img_per_s"]:.2f}x | {sync["img_per_s"]:.1f} '
          f'({sync["backend"]}, {sync["ranks"]} rank{", graph" if sync["cuda_graph"] else ""}) | {overhead:+.1f}% | '
          f'{eager["img_per_s"]:.1f} | {ours["img_per_s"] / eager["img_per_s"]:.2f}x | {mem(ref) / gib:.2f} | '
          f'{mem(ours) / gib:.2f} | {mem(ours) / mem(ref):.2f}x | {phases} |')
real = [c for c in configs if os.path.exists(f"{out}/{c.replace(':', '-')}.real.json")]
if real:
    print("\n| model | size | batch | synthetic img/s | real img/s | real / synthetic | data wait |")
    print("|" + "---|" * 7)
    for c in real:
        model, head, size, batch = c.split(":")
        syn, rl = (json.load(open(f"{out}/{c.replace(':', '-')}.{k}.json")) for k in ("none", "real"))
        print(f'| {model} | {size} | {batch} | {syn["img_per_s"]:.1f} | {rl["img_per_s"]:.1f} | '
              f'{rl["img_per_s"] / syn["img_per_s"]:.1%} | {rl["data_wait_frac"]:.1%} |')
if all(json.load(open(f"{out}/{c.replace(':', '-')}.ref.json"))["peak_mem_bytes"] == 0 for c in configs):
    print("\n(CPU: memory columns are the peak resident set size of each process, not device memory)")
PY
