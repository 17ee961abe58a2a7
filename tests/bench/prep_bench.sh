#!/usr/bin/env bash
# Dataset-preparation throughput: `wisesr prep` vs the Python reference (PIL + h5py, one process),
# side by side in one run on the same 1,000 JPEGs (1024x768, q90) -> 512x512 q90 records.
# Usage: tests/bench/prep_bench.sh [N_IMAGES] [REPEATS]   (from the repo root, after a build)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/launch/common.sh"
py=$(wisesr_torch_python)
bin=$(wisesr_bin)
n=${1:-1000}
reps=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$py" "$root/tests/bench/make_jpegs.py" "$n" "$work/in"
cores=$(nproc)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() {  # prints seconds
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
  echo "$e - $s" | bc -l
}
declare -A med
run() {  # name threads command...
  local name=$1; shift
  local t=()
  for r in $(seq "$reps"); do
    rm -rf "$work/out" "$work/ref.h5"
    t+=("$(time_it "$@")")
  done
  med[$name]=$(printf '%s\n' "${t[@]}" | median)
}
run reference "$py" "$root/tests/bench/prep_reference.py" "$work/in" "$work/ref.h5" 512 90
run wisesr_t1 "$bin" prep --input "$work/in" --out "$work/out" --size 512 --quality 90 --val-fraction 0 --threads 1
run wisesr_tall "$bin" prep --input "$work/in" --out "$work/out" --size 512 --quality 90 --val-fraction 0 --threads "$cores"

printf '\n%s images 1024x768 q90 -> 512x512 q90, median of %s runs, %s cores (%s)\n' "$n" "$reps" "$cores" \
  "$(lscpu | sed -n 's/^Model name: *//p')"
printf '| %-36s | %8s | %9s | %13s | %14s |\n' "run" "seconds" "images/s" "images/s/core" "vs reference/core"
printf '|%s|%s|%s|%s|%s|\n' "--------------------------------------" "----------" "-----------" "---------------" "----------------"
ref_rate=$(echo "$n / ${med[reference]}" | bc -l)
row() {  # label seconds cores
  local rate per ratio
  rate=$(echo "$n / $2" | bc -l); per=$(echo "$rate / $3" | bc -l); ratio=$(echo "$per / $ref_rate" | bc -l)
  printf '| %-36s | %8.2f | %9.1f | %13.1f | %13.2fx |\n' "$1" "$2" "$rate" "$per" "$ratio"
}
row "Python reference (PIL + h5py, 1 proc)" "${med[reference]}" 1
row "wisesr prep --threads 1" "${med[wisesr_t1]}" 1
row "wisesr prep --threads $cores" "${med[wisesr_tall]}" "$cores"
# The floor of any libjpeg-turbo converter on these images: full-size decode + 512x512 q90 encode only.
if c++ -O2 -std=c++17 "$root/tests/bench/jpeg_floor_bench.cpp" -o "$work/jpeg_floor" -lturbojpeg 2>/dev/null; then
  "$work/jpeg_floor" "$work"/in/*/*.jpg > "$work/floor.txt"
  floor=$(sed -n 's#^decode at 8/8: .*floor \([0-9.]*\) images/s/core.*#\1#p' "$work/floor.txt")
  row "libjpeg-turbo floor (decode+encode only)" "$(echo "$n / $floor" | bc -l)" 1
  sed 's/^/  /' "$work/floor.txt"
else
  echo "(no C++ compiler or libturbojpeg headers: libjpeg-turbo floor row skipped)"
fi
rate_all=$(echo "$n / ${med[wisesr_tall]}" | bc -l)
rate_core=$(echo "$n / ${med[wisesr_t1]}" | bc -l)
printf '\nprojection from wisesr prep --threads 1 (%.1f images/s/core): full ImageNet (1,331,167 images)\n' "$rate_core"
printf '  %5.1f core-hours; %5.1f h on this %s-core machine; %4.1f h on 16 cores\n' \
  "$(echo "1331167 / $rate_core / 3600" | bc -l)" "$(echo "1331167 / $rate_all / 3600" | bc -l)" "$cores" \
  "$(echo "1331167 / ($rate_core * 16) / 3600" | bc -l)"
