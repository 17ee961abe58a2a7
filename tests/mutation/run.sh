#!/usr/bin/env bash
# Mutation check: plants each bug listed in tests/mutation/mutations.txt, one at a time, in a scratch copy
# of the repository, builds it, runs the test suite and reports which bugs no test notices (survivors)
# and the kill rate. On demand only (it builds and tests once per mutation; CI does not run it).
#
#   tests/mutation/run.sh [options] [NAME ...]      NAME: only these mutations (default: all)
#     --list          print the mutations and exit
#     --subset        run each mutation's `subset` tests (ctest -R) instead of the whole suite
#     --every-test    let ctest finish after the first failure (default: --stop-on-failure; a mutation
#                     is killed by its first failing test, and the report lists the failures seen)
#     --no-baseline   skip the build and test run of the unmutated copy (by default it must pass)
#     --ref REF       the commit to copy (default HEAD; uncommitted changes are not part of it)
#     --dir DIR       scratch directory (default ${TMPDIR:-/tmp}/wisesr-mutation)
#     --list-file F   another mutation list
#
# The copy is `git archive REF` extracted to DIR/src, built in DIR/src/build (the same layout as a
# checkout's build/, so ccache, with its paths relative to the source tree, serves the unchanged objects
# that any checkout built). Each mutation edits one file of that copy; after its run the file is put back
# (with a new time stamp, so the next build recompiles it, from ccache). Logs: DIR/logs/NAME.{build,test}.log;
# the report: DIR/report.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$here" rev-parse --show-toplevel)
list="$here/mutations.txt"
dir="${TMPDIR:-/tmp}/wisesr-mutation"
ref=HEAD
subset=0
every=0
baseline=1
only=()
while (($#)); do
  case $1 in
    --list) only=(--list); shift ;;
    --subset) subset=1; shift ;;
    --every-test) every=1; shift ;;
    --no-baseline) baseline=0; shift ;;
    --ref) ref=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --list-file) list=$2; shift 2 ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) only+=("$1"); shift ;;
  esac
done

# mutations.txt -> one line per mutation: name<TAB>file<TAB>subset<TAB>about (find/replace stay in the file).
parse() {
  python3 - "$list" <<'PY'
import sys
records, cur = [], {}
for raw in open(sys.argv[1], encoding="utf-8").read().split("\n") + [""]:
    if raw.startswith("#"):
        continue
    if not raw.strip():
        if cur:
            records.append(cur)
        cur = {}
        continue
    key, sep, value = raw.partition(":")
    if not sep or key.strip() not in ("name", "file", "find", "replace", "about", "subset", "after"):
        sys.exit(f"mutations list: bad line {raw!r}")
    cur[key.strip()] = value.strip()
names = set()
for r in records:
    for k in ("name", "file", "find", "replace", "about"):
        if k not in r:
            sys.exit(f"mutations list: {r.get('name', '?')} has no '{k}'")
    if r["name"] in names:
        sys.exit(f"mutations list: {r['name']} twice")
    names.add(r["name"])
    print("\t".join([r["name"], r["file"], r.get("subset", ""), r["about"]]))
PY
}

# apply NAME ROOT: plant mutation NAME in the tree at ROOT (exactly one match, or an error).
apply() {
  python3 - "$list" "$1" "$2" <<'PY'
import pathlib, sys
lst, name, root = sys.argv[1:]
rec, cur = None, {}
for raw in open(lst, encoding="utf-8").read().split("\n") + [""]:
    if raw.startswith("#"):
        continue
    if not raw.strip():
        if cur.get("name") == name:
            rec = cur
        cur = {}
        continue
    key, _, value = raw.partition(":")
    cur[key.strip()] = value.strip()
path = pathlib.Path(root) / rec["file"]
text = path.read_text(encoding="utf-8")
start = 0
if "after" in rec:
    if text.count(rec["after"]) != 1:
        sys.exit(f"{name}: 'after' text occurs {text.count(rec['after'])} times in {rec['file']}")
    start = text.index(rec["after"]) + len(rec["after"])
    at = text.find(rec["find"], start)
    if at < 0:
        sys.exit(f"{name}: 'find' text not found after the 'after' text in {rec['file']}")
else:
    n = text.count(rec["find"])
    if n != 1:
        sys.exit(f"{name}: 'find' text occurs {n} times in {rec['file']} (must be exactly once)")
    at = text.index(rec["find"])
path.write_text(text[:at] + rec["replace"] + text[at + len(rec["find"]):], encoding="utf-8")
PY
}

mapfile -t mutations < <(parse)
if [[ ${only[0]:-} == --list ]]; then
  for m in "${mutations[@]}"; do IFS=$'\t' read -r name file _ about <<<"$m"; printf '%-32s %-28s %s\n' "$name" "$file" "$about"; done
  exit 0
fi
if ((${#only[@]})); then
  selected=()
  for want in "${only[@]}"; do
    found=0
    for m in "${mutations[@]}"; do [[ ${m%%$'\t'*} == "$want" ]] && { selected+=("$m"); found=1; }; done
    ((found)) || { echo "run.sh: no mutation named '$want' (see --list)" >&2; exit 2; }
  done
  mutations=("${selected[@]}")
fi

src="$dir/src"
logs="$dir/logs"
commit=$(git -C "$repo" rev-parse --short "$ref")
echo "[mutation] ${#mutations[@]} mutation(s) of $commit in $src ($( ((subset)) && echo 'per-mutation subsets' || echo 'whole suite'))"
rm -rf "$src" "$logs"
mkdir -p "$src" "$logs"
git -C "$repo" archive "$ref" | tar -x -C "$src"
export WISESR_BUILD_DIR="$src/build"
# shellcheck source=/dev/null
source "$src/launch/common.sh"

build() { wisesr_build >"$1" 2>&1; }
# run_tests LOG [REGEX]: ctest in the scratch build; returns ctest's status.
run_tests() {
  local args=(--output-on-failure -j "$(nproc)")
  ((every)) || args+=(--stop-on-failure)
  [[ -n ${2:-} ]] && args+=(-R "$2")
  (cd "$WISESR_BUILD_DIR" && ctest "${args[@]}") >"$1" 2>&1
}
# failed_tests LOG: the failed ctest entries, then the GoogleTest cases inside them (an MPI entry runs many).
failed_tests() {
  local entries cases
  entries=$(sed -n '/The following tests FAILED:/,$p' "$1" | sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) .*/\1/p' | head -6)
  cases=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_]*\.[A-Za-z0-9_]*\).*/\1/p' | sort -u |
    grep -vxF -f <(printf '%s\n' "$entries" | sed 's/^asan\.//') | head -4 | paste -sd' ' -)
  printf '%s%s' "$(paste -sd' ' - <<<"$entries")" "${cases:+: $cases}"
}

t0=$SECONDS
if ((baseline)); then
  echo "[mutation] baseline: building and testing the unmutated copy"
  build "$logs/baseline.build.log" || { tail -30 "$logs/baseline.build.log"; echo "[mutation] the unmutated copy does not build" >&2; exit 1; }
  if ! run_tests "$logs/baseline.test.log"; then
    echo "[mutation] the unmutated copy fails its tests ($(failed_tests "$logs/baseline.test.log")): fix that first; see $logs/baseline.test.log" >&2
    exit 1
  fi
  echo "[mutation] baseline passes ($((SECONDS - t0)) s)"
fi

report="$dir/report.md"
{
  echo "Mutation check of $commit ($(date -u +%Y-%m-%d), $( ((subset)) && echo 'per-mutation test subsets' || echo 'whole suite'))"
  echo
  echo "| mutation | file | result | first failing tests |"
  echo "|---|---|---|---|"
} >"$report"
killed=0 survived=0 invalid=0
survivors=()
for m in "${mutations[@]}"; do
  IFS=$'\t' read -r name file regex about <<<"$m"
  t1=$SECONDS
  cp -p "$src/$file" "$dir/pristine"
  if ! apply "$name" "$src" 2>"$logs/$name.apply.log"; then
    result="invalid: $(cat "$logs/$name.apply.log")"; invalid=$((invalid + 1)); tests=""
  elif ! build "$logs/$name.build.log"; then
    result="invalid: does not build"; invalid=$((invalid + 1)); tests=""
  elif run_tests "$logs/$name.test.log" "$( ((subset)) && echo "$regex")"; then
    result="**survived**"; survived=$((survived + 1)); tests=""; survivors+=("$name")
  else
    result="killed"; killed=$((killed + 1)); tests=$(failed_tests "$logs/$name.test.log")
  fi
  cp "$dir/pristine" "$src/$file" && touch "$src/$file"  # new mtime: the next build recompiles it
  echo "| $name | $file | $result | $tests |" >>"$report"
  echo "[mutation] $name: $result${tests:+ ($tests)} [$((SECONDS - t1)) s] - $about"
done
scored=$((killed + survived))
rate=$( ((scored)) && echo "$((100 * killed / scored))%" || echo "n/a")
note=""
if ((invalid)); then note="; $invalid invalid (did not apply or build)"; fi
echo >>"$report"
echo "Killed $killed of $scored ($rate)$note; $((SECONDS - t0)) s." >>"$report"
if ((survived)); then echo "Survivors: ${survivors[*]}" >>"$report"; fi
echo
cat "$report"
((survived == 0 && invalid == 0))
