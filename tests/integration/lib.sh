# Shared by the integration scripts (sourced, not run): a private work directory, fail and expect_error.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   wisesr_test_dir sweep        # $work = a new directory, the current one from now on; at exit the
#                                # processes still running from it are killed and it is removed (KEEP=1
#                                # keeps it); mpirun may run as root
#   require_python "$python" numpy PIL   # exit 77 (ctest: skipped), naming what is missing, unless that
#                                        # Python imports every module (dotted names work)
#   fail "what went wrong"       # prints FAIL: ... and exits 1
#   expect_error "what" "pattern" COMMAND...   # exit status 1, exactly one line on stderr, a wisesr error
#                                              # matching the pattern (grep basic regex)

wisesr_test_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/wisesr-$1-XXXXXX")
  trap wisesr_test_cleanup EXIT
  cd "$work"
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
}

# The EXIT trap of wisesr_test_dir (a script that sets its own trap calls it last).
wisesr_test_cleanup() {
  pkill -KILL -f "$work" 2> /dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}

require_python() {
  local py=$1
  shift
  local mods="$*"
  mods=${mods// /, }
  "$py" -c "import $mods" 2> /dev/null && return 0
  echo "SKIP: $py cannot import $mods (./launch/setup.sh installs them)"
  exit 77
}

fail() {
  echo "FAIL: $*"
  exit 1
}

expect_error() {
  local what=$1 pattern=$2 rc=0
  shift 2
  "$@" > out.log 2> err.log || rc=$?
  [ "$rc" -eq 1 ] || { cat out.log err.log; fail "$what: exit status $rc, expected 1"; }
  [ "$(wc -l < err.log)" -eq 1 ] || { cat err.log; fail "$what: not one line on stderr"; }
  grep -q -- "^wisesr .*error: .*$pattern" err.log || { cat err.log; fail "$what: no error matching '$pattern'"; }
  echo "ok: $what: $(cat err.log)"
}
