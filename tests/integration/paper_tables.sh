#!/usr/bin/env bash
# The paper's tables as configs (configs/paper/): `wisesr sweep --dry-run` on each lists its rows (18 + 9 + 15 + 9 =
# 51) with the columns backbone, head, image_size, classes, params, paper_params, and every row's parameter count
# equals the paper's; each file is also a valid `wisesr train` config (the [sweep] section skipped).
# Usage: paper_tables.sh WISESR_BIN SOURCE_DIR
set -euo pipefail
bin=$1
src=$2
fail() {
  echo "FAIL: $*"
  exit 1
}
total=0
for t in 5:18:70:224 6:9:6:224 7:15:67:224 9:9:67:512; do
  IFS=: read -r table rows classes size <<< "$t"
  cfg=$src/configs/paper/table$table.cfg
  out=$("$bin" sweep --config "$cfg" --dry-run) || fail "table $table: dry run failed"
  echo "$out" | grep -q "^row  *run  *backbone  *head  *image_size  *classes  *params  *paper_params  *match$" ||
    fail "table $table: header: $(echo "$out" | sed -n 2p)"
  n=$(echo "$out" | grep -cE "^[0-9]+ +[a-z0-9-]+ +[a-z]")
  [ "$n" -eq "$rows" ] || fail "table $table: $n rows, expected $rows"
  ok=$(echo "$out" | grep -E "^[0-9]+ +[a-z0-9-]+ +[a-z]" | awk -v c="$classes" -v s="$size" '$5 == s && $6 == c && $7 == $8 && $9 == "yes"' | wc -l)
  [ "$ok" -eq "$rows" ] || { echo "$out"; fail "table $table: $((rows - ok)) row(s) not at ${size}px/$classes classes with the paper's count"; }
  "$bin" train --config "$cfg" --data.dir /nonexistent --train.epochs 0 > train.log 2>&1 || true
  # Parsed to the end: validation gets as far as the epochs given on the command line.
  grep -q "error: --train.epochs must be >= 1, got 0" train.log || { cat train.log; fail "table $table: not a valid train config"; }
  echo "table $table: $n rows, every parameter count equal to the paper's"
  total=$((total + n))
done
rm -f train.log
[ "$total" -eq 51 ] || fail "$total rows in all, expected 51"
echo "paper tables: all 51 rows"
