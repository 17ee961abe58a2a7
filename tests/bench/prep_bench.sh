#!/usr/bin/env bash
# Dataset-preparation throughput: `wisesr prep` vs the Python reference (PIL + h5py, one process) and vs
# its floor, side by side in one run on the same photo-like JPEGs (1024x768, q90) -> 512x512 q90 records.
#   - whole runs of N images: the reference, `wisesr prep --threads 1` and `--threads <all cores>`
#   - prep's time per image at the margin: (time for 2N images - time for N) / N with --threads 1, which
#     leaves out what a run pays once (process start-up, the last shard's commit)
#   - the floor (build/tests/wisesr_prep_floor, tests/bench/jpeg_floor_bench.cpp): libjpeg-turbo decode +
#     prep's resize + libjpeg-turbo encode of the same images in memory, per image
#   - with BASELINE=<another wisesr binary>: its --threads 1 runs alternate with ours (before/after)
# Usage: tests/bench/prep_bench.sh [N_IMAGES] [REPEATS]   (from the repo root, after a build with OpenCV)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/launch/common.sh"
py=$(wisesr_torch_python)
bin=$(wisesr_bin)
floor_bin="$WISESR_BUILD_DIR/tests/wisesr_prep_floor"
n=${1:-1000}
reps=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
# 2N images; the first N (hard links) are the N-image input.
"$py" "$root/tests/bench/make_jpegs.py" "$((2 * n))" "$work/in2"
for d in "$work"/in2/*/; do
  mkdir -p "$work/in/$(basename "$d")"
  mapfile -t files < <(find "$d" -name '*.jpg' | sort)
  ln "${files[@]:0:$((n / 2))}" "$work/in/$(basename "$d")/"
done
cores=$(nproc)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() {  # prints seconds
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
declare -A med
run() {  # name command...
  local name=$1; shift
  local t=()
  for r in $(seq "$reps"); do
    rm -rf "$work/out" "$work/ref.h5"
    t+=("$(time_it "$@")")
  done
  med[$name]=$(printf '%s\n' "${t[@]}" | median)
}
prep() { "${3:-$bin}" prep --input "$1" --out "$work/out" --size 512 --quality 90 --val-fraction 0 --threads "$2"; }
run reference "$py" "$root/tests/bench/prep_reference.py" "$work/in" "$work/ref.h5" 512 90
run wisesr_t1 prep "$work/in" 1
run wisesr_t1_2n prep "$work/in2" 1
run wisesr_tall prep "$work/in" "$cores"
run wisesr_tall_2n prep "$work/in2" "$cores"
if [[ -n ${BASELINE:-} ]]; then
  run baseline_t1 prep "$work/in" 1 "$BASELINE"
  run baseline_t1_2n prep "$work/in2" 1 "$BASELINE"
fi

printf '\n%s images 1024x768 q90 -> 512x512 q90, median of %s runs, %s cores (%s)\n' "$n" "$reps" "$cores" \
  "$(lscpu | sed -n 's/^Model name: *//p')"
printf '| %-44s | %8s | %9s | %13s | %17s |\n' "run" "seconds" "images/s" "images/s/core" "vs reference/core"
printf '|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "----------" "-----------" "---------------" "-------------------"
ref_rate=$(echo "$n / ${med[reference]}" | bc -l)
row() {  # label seconds cores [images]
  local rate per ratio
  rate=$(echo "${4:-$n} / $2" | bc -l); per=$(echo "$rate / $3" | bc -l); ratio=$(echo "$per / $ref_rate" | bc -l)
  printf '| %-44s | %8.2f | %9.1f | %13.1f | %16.2fx |\n' "$1" "$2" "$rate" "$per" "$ratio"
}
row "Python reference (PIL + h5py, 1 proc)" "${med[reference]}" 1
row "wisesr prep --threads 1" "${med[wisesr_t1]}" 1
row "wisesr prep --threads $cores" "${med[wisesr_tall]}" "$cores"
margin=$(echo "${med[wisesr_t1_2n]} - ${med[wisesr_t1]}" | bc -l)
margin_all=$(echo "${med[wisesr_tall_2n]} - ${med[wisesr_tall]}" | bc -l)
row "wisesr prep --threads 1, at the margin (2N - N)" "$margin" 1
row "wisesr prep --threads $cores, at the margin (2N - N)" "$margin_all" "$cores"
if [[ -n ${BASELINE:-} ]]; then
  row "BASELINE prep --threads 1" "${med[baseline_t1]}" 1
  row "BASELINE prep --threads 1, at the margin" "$(echo "${med[baseline_t1_2n]} - ${med[baseline_t1]}" | bc -l)" 1
fi
if [[ -x $floor_bin ]]; then
  "$floor_bin" "$work"/in/*/*.jpg > "$work/floor.txt"
  floor_ms=$(sed -n 's#^floor: \([0-9.]*\) ms per image.*#\1#p' "$work/floor.txt")
  row "floor: decode + resize + encode, in memory" "$(echo "$n * $floor_ms / 1000" | bc -l)" 1
  sed 's/^/  /' "$work/floor.txt"
  printf '\nprep --threads 1 per image: %.3f ms whole run, %.3f ms at the margin; floor %.3f ms -> %.2fx / %.2fx the floor\n' \
    "$(echo "1000 * ${med[wisesr_t1]} / $n" | bc -l)" "$(echo "1000 * $margin / $n" | bc -l)" "$floor_ms" \
    "$(echo "1000 * ${med[wisesr_t1]} / $n / $floor_ms" | bc -l)" "$(echo "1000 * $margin / $n / $floor_ms" | bc -l)"
else
  echo "(no $floor_bin: build the tests with OpenCV for the floor row)"
fi
printf '%s-core scaling: %.2fx whole runs of N, %.2fx at the margin\n' "$cores" \
  "$(echo "${med[wisesr_t1]} / ${med[wisesr_tall]}" | bc -l)" "$(echo "$margin / $margin_all" | bc -l)"
rate_core=$(echo "$n / $margin" | bc -l)
printf '\nprojection from the margin (%.1f images/s/core): full ImageNet (1,331,167 images)\n' "$rate_core"
printf '  %5.1f core-hours; %4.1f h on 16 cores\n' "$(echo "1331167 / $rate_core / 3600" | bc -l)" \
  "$(echo "1331167 / ($rate_core * 16) / 3600" | bc -l)"
