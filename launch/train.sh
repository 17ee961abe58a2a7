#!/usr/bin/env bash
# launch/train.sh: start `wisesr train` with Open MPI's mpirun, one rank per GPU on every node.
# Flags and environment only: what to launch where, and signals made safe. cluster/README.md explains each
# choice; `--dry-run` prints the mpirun line it would run.
#
#   launch/train.sh [options] -- [wisesr train options]
#
#   --hostfile F         nodes, one per line ("node01 slots=8"); default: the Slurm allocation when inside
#                        one, else this machine only
#   --nodes N            use the first N nodes (default: all of the hostfile or allocation)
#   --gpus-per-node G    ranks per node, one per GPU (default: this node's GPUs; 1 without GPUs)
#   --bind MODE          cores (default: each rank gets cores/G consecutive cores, next to its GPU on
#                        the usual layouts) | numa | none
#   --env PRESET         NCCL/UCX settings from cluster/env/PRESET.env (ib, roce, tcp, debug); repeatable
#   --grace S            when mpirun itself gets SIGTERM/SIGINT (not through this script), the ranks get
#                        S seconds to checkpoint (default 30; Open MPI 4.x's odls_base_sigkill_timeout =
#                        S/2; 5.x has a fixed 0.5 s). mpirun also waits that long before it kills the rest
#                        of a job one of whose ranks failed: keep it no larger than a step and a checkpoint
#   --mpirun PATH        the mpirun to use (default: mpirun on PATH)
#   --bin PATH           the wisesr executable (default: build/bin/wisesr of this checkout)
#   --mpi-arg ARG        one more argument for mpirun (repeatable), e.g. --mpi-arg --mca --mpi-arg btl ...
#   --dry-run            print the resolved mpirun command and exit
#
# Signals: SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 sent to this script become one SIGUSR1 for mpirun,
# which forwards it at once to every rank; the ranks agree on a step, rank 0 checkpoints, and the job exits
# with --train.preempt_exit_code. mpirun runs in its own session, so a terminal's Ctrl-C reaches this
# script only. A SIGTERM sent to mpirun directly is safe too (the ranks get --grace), and the exit status
# is still the ranks' (mpirun itself would exit 1): see cluster/README.md, "Signals".
set -euo pipefail

# Signals are taken from the first moment (one in the first ~0.3 s of a rank would kill it: see
# send_pending) and passed on once the job can take them.
job=""
interrupts=0 pending=""
forward() {
  if [ "$1" = SIGINT ] && [ $((interrupts += 1)) -ge 3 ]; then
    echo "launch/train.sh: third SIGINT: killing the job without a checkpoint" >&2
    [ -n "$job" ] && kill -KILL -- -"$job" 2> /dev/null
    exit 130
  fi
  echo "launch/train.sh: $1: asking every rank to checkpoint and stop (SIGUSR1 to mpirun; Ctrl-C 3 times kills)" >&2
  pending=$1
  send_pending
}
# A rank dies of a signal in its first ~0.3 s (the dynamic loader is still mapping LibTorch; its handlers
# come right after): hold the signal until mpirun's children are 2 s old.
send_pending() {
  [ -n "$pending" ] && [ -n "$job" ] || return 0
  local youngest
  youngest=$(ps -o etimes= --ppid "$job" 2> /dev/null | sort -n | head -1 | tr -d ' ' || true)
  [ -n "$youngest" ] && [ "$youngest" -ge 2 ] || return 0
  kill -USR1 "$job" 2> /dev/null || true
  pending=""
}
for sig in TERM INT HUP USR1 USR2; do trap "forward SIG$sig" "$sig"; done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

hostfile="" nodes="" gpus="" bind=cores grace=30 mpirun_bin=mpirun bin="" dry_run=0
presets=() mpi_extra=()

die() {
  echo "launch/train.sh: error: $*" >&2
  exit 2
}
need() { [ "$#" -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ "$#" -gt 0 ]; do
  case "$1" in
    --hostfile) need "$@"; hostfile=$2; shift 2 ;;
    --nodes) need "$@"; nodes=$2; shift 2 ;;
    --gpus-per-node) need "$@"; gpus=$2; shift 2 ;;
    --bind) need "$@"; bind=$2; shift 2 ;;
    --env) need "$@"; presets+=("$2"); shift 2 ;;
    --grace) need "$@"; grace=$2; shift 2 ;;
    --mpirun) need "$@"; mpirun_bin=$2; shift 2 ;;
    --bin) need "$@"; bin=$2; shift 2 ;;
    --mpi-arg) need "$@"; mpi_extra+=("$2"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (wisesr train options go after --; see --help)" ;;
  esac
done
train_args=("$@")

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
[ -z "$nodes" ] || is_count "$nodes" || die "--nodes must be a positive integer, got '$nodes'"
[ -z "$gpus" ] || is_count "$gpus" || die "--gpus-per-node must be a positive integer, got '$gpus'"
[[ $grace =~ ^[0-9]+$ ]] || die "--grace must be a whole number of seconds, got '$grace'"
case "$bind" in cores | numa | none) ;; *) die "--bind must be cores, numa or none, got '$bind'" ;; esac
command -v "$mpirun_bin" > /dev/null || die "mpirun '$mpirun_bin' not found (install Open MPI or pass --mpirun)"
bin=${bin:-$root/build/bin/wisesr}
[ -x "$bin" ] || die "wisesr executable '$bin' not found (build it: ./launch/test.sh, or pass --bin)"

# --- where: nodes ------------------------------------------------------------------------------------
where=()
if [ -n "$hostfile" ]; then
  [ -r "$hostfile" ] || die "hostfile '$hostfile' not readable"
  available=$(grep -cvE '^[[:space:]]*(#|$)' "$hostfile" || true)
  [ "$available" -ge 1 ] || die "hostfile '$hostfile' lists no nodes"
  where=(--hostfile "$hostfile")
  source_desc="hostfile $hostfile"
elif [ -n "${SLURM_JOB_ID:-}" ]; then
  available=${SLURM_JOB_NUM_NODES:-${SLURM_NNODES:-1}}
  source_desc="Slurm job $SLURM_JOB_ID"  # mpirun reads the allocation itself and starts its daemons via srun
else
  available=1
  source_desc="this machine"
fi
nodes=${nodes:-$available}
[ "$nodes" -le "$available" ] || die "--nodes $nodes but $source_desc has $available node(s)"

# --- how many: one rank per GPU -----------------------------------------------------------------------
local_gpus=0
if command -v nvidia-smi > /dev/null 2>&1; then local_gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU' || true); fi
if [ -z "$gpus" ]; then
  gpus=$((local_gpus > 0 ? local_gpus : 1))
elif [ "$local_gpus" -gt 0 ] && [ "$gpus" -gt "$local_gpus" ]; then
  die "--gpus-per-node $gpus but this node has $local_gpus GPU(s): one rank per GPU, at most $local_gpus per node"
fi
ranks=$((nodes * gpus))

# --- binding ------------------------------------------------------------------------------------------
cores=$(nproc)
map="ppr:$gpus:node"
case "$bind" in
  cores)
    if [ "$cores" -ge "$gpus" ]; then
      map="$map:PE=$((cores / gpus))"
      binding=(--bind-to core)
    else
      binding=(--bind-to none)  # fewer cores than ranks (a CPU test machine): nothing to pin
    fi
    ;;
  numa) binding=(--bind-to numa) ;;
  none) binding=(--bind-to none) ;;
esac

# --- environment presets ------------------------------------------------------------------------------
exports=()
for p in "${presets[@]}"; do
  f="$root/cluster/env/$p.env"
  [ -r "$f" ] || die "no preset '$p' (have: $(cd "$root/cluster/env" && ls -- *.env | sed 's/\.env$//' | tr '\n' ' '))"
  while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "$f: not NAME=value: '$line'"
    exports+=(-x "$line")
  done < "$f"
done
for v in PATH LD_LIBRARY_PATH; do [ -n "${!v:-}" ] && exports+=(-x "$v"); done

# --- the kill grace: Open MPI 4.x (ORTE) only; 5.x (PRRTE) waits a fixed 0.25 s + 0.25 s -----------------------
# ("mpirun (Open MPI) 4.1.4", "mpiexec (OpenRTE) 4.1.4", "mpirun (Open MPI) 5.0.3")
grace_args=()
version=$("$mpirun_bin" --version 2> /dev/null | head -1 || true)
if [[ $version =~ (Open\ MPI|OpenRTE)\)?\ ([0-9]+)\. ]] && [ "${BASH_REMATCH[2]}" -lt 5 ]; then
  grace_args=(--mca odls_base_sigkill_timeout "$(((grace + 1) / 2))")
fi
# Rank 0 writes its status here; the working directory, because rank 0 may run on another node (the first
# of the hostfile) and the directory a job is submitted from is normally on the shared file system.
status_file=$(mktemp "$PWD/.wisesr-status-XXXXXX")
trap 'rm -f "$status_file"' EXIT

cmd=("$mpirun_bin" -np "$ranks" "${where[@]}" --map-by "$map" "${binding[@]}" "${grace_args[@]}")
[ "$(id -u)" -eq 0 ] && cmd+=(--allow-run-as-root)
cmd+=("${exports[@]}" "${mpi_extra[@]}" "$bin" train --train.status_file "$status_file" "${train_args[@]}")

echo "launch/train.sh: $nodes node(s) from $source_desc x $gpus rank(s) = $ranks rank(s), map $map, ${binding[*]}" >&2
if [ "$dry_run" -eq 1 ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi

# mpirun in its own session (setsid): signals for the job come through the trap below, once.
setsid "${cmd[@]}" < /dev/null &
job=$!
# Wait for mpirun, one second at a time so that the trap runs at once. mpirun normally exits within a second
# of its ranks, but once it ends a job itself (a rank exited non-zero or died, or SIGTERM/SIGINT reached
# mpirun) it waits out 2 x odls_base_sigkill_timeout whatever the ranks do. End that wait when there is
# nothing left to wait for: rank 0 has reported (the ranks are past training and the checkpoint), or mpirun
# has no child process left (no local rank, no remote-daemon launcher).
reported="" idle=0 ended=0
while kill -0 "$job" 2> /dev/null; do
  sleep 1 &
  wait $! 2> /dev/null || true
  send_pending
  if [ -z "$reported" ] && [ -s "$status_file" ]; then reported=$SECONDS; fi
  # (zombies do not count: in its kill path mpirun stops reaping the ranks it is killing)
  if ps -o stat= --ppid "$job" 2> /dev/null | grep -qv '^Z'; then idle=0; else idle=$((idle + 1)); fi
  if { [ -n "$reported" ] && [ $((SECONDS - reported)) -ge 5 ]; } || [ "$idle" -ge 5 ]; then
    kill -0 "$job" 2> /dev/null || break
    echo "launch/train.sh: the ranks are done and mpirun is only waiting out its kill timeout: ending it" >&2
    kill -KILL -- -"$job" 2> /dev/null || true
    ended=1
  fi
done
rc=0
wait "$job" || rc=$?
# After mpirun ended a job on SIGTERM/SIGINT (or was ended above) its status says nothing of the ranks'.
if [ "$rc" -ne 0 ] && read -r status code < "$status_file" 2> /dev/null && [[ $code =~ ^[0-9]+$ ]]; then
  echo "launch/train.sh: mpirun exited $rc; rank 0 reported '$status', exit status $code" >&2
  rc=$code
elif [ "$ended" -eq 1 ]; then
  rc=1  # the job failed (the ranks' messages above say how); mpirun's own status was lost with it
fi
exit "$rc"
