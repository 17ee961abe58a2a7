#!/usr/bin/env bash
# Every C/C++ file under src/, data_prep/ and tests/ is formatted as .clang-format says (ctest
# `style_clang_format`). The tree is formatted with clang-format 14 (Debian 12's; launch/setup.sh installs
# it): another major version formats some constructs differently, so the check skips (exit 77, which
# ctest reports as skipped) when clang-format is missing or is not version 14, and says why.
# Usage: check_format.sh SOURCE_DIR        (fix the tree: clang-format -i on the files it names)
set -euo pipefail
root=$1
cf=${CLANG_FORMAT:-$(command -v clang-format-14 || command -v clang-format || true)}
if [[ -z $cf ]]; then
  echo "skipping: clang-format is not installed (launch/setup.sh installs clang-format 14)"
  exit 77
fi
major=$("$cf" --version | sed -n 's/.*clang-format version \([0-9]*\)\..*/\1/p')
if [[ $major != 14 ]]; then
  echo "skipping: $cf is version ${major:-unknown}; the tree is formatted with clang-format 14 (Debian 12's)"
  exit 77
fi
cd "$root"
mapfile -t files < <(find src data_prep tests -type f \( -name '*.cpp' -o -name '*.h' -o -name '*.c' \) | sort)
bad=()
for f in "${files[@]}"; do
  "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  echo "not formatted with $cf (run: $cf -i ${bad[*]}):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "${#files[@]} files formatted as .clang-format says ($cf)"
