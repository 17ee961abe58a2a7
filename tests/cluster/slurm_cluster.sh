# A real two-node Slurm cluster on 127.0.0.1 for the tests (sourced, not run): slurmctld and two
# slurmd ("n1", "n2") of Debian's slurm-wlm, all state under one directory, stopped by PID whatever
# happens. Loopback only: every daemon binds and talks on 127.0.0.1.
#   slurm_cluster_up DIR      start; exports SLURM_CONF; returns when both nodes are idle
#   slurm_cluster_down        stop the daemons this shell started (safe to call twice)
#   slurm_wait_job ID STATE.. wait until job ID reaches one of the states (prints the final state)
# Versions: auth/none exists up to Slurm 23.02 (Debian 12 ships 22.05); newer Slurm needs munge.

slurm_free_port() {  # a TCP port nothing listens on, from a range the tests own
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 20000))
    if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

slurm_cluster_up() {
  local dir=$1 host cpus
  host=$(hostname)
  cpus=${SLURM_TEST_CPUS:-2}
  mkdir -p "$dir"/{state,spool,tmp,pids,log}
  SLURM_TEST_DIR=$dir
  local ctld p1 p2
  ctld=$(slurm_free_port) && p1=$(slurm_free_port) && p2=$(slurm_free_port) || return 1
  cat > "$dir/slurm.conf" <<CONF
ClusterName=wisesrtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld
AuthType=auth/none
CredType=cred/none
AuthInfo=cred_expire=5
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
TmpFS=$dir/tmp/%n
SlurmctldPidFile=$dir/pids/slurmctld.pid
SlurmdPidFile=$dir/pids/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
JobRequeue=1
ReturnToService=2
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
KillWait=30
MinJobAge=600
NodeName=n1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$p1 CPUs=$cpus
NodeName=n2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$p2 CPUs=$cpus
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  for n in n1 n2; do mkdir -p "$dir/spool/$n" "$dir/tmp/$n"; done
  export SLURM_CONF=$dir/slurm.conf
  SLURM_TEST_PIDS=()
  setsid slurmctld -D -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
  SLURM_TEST_PIDS+=($!)
  for n in n1 n2; do
    setsid slurmd -D -f "$SLURM_CONF" -N "$n" > "$dir/log/slurmd-$n.out" 2>&1 &
    SLURM_TEST_PIDS+=($!)
  done
  for _ in $(seq 1 150); do
    [ "$(sinfo -h -N -t idle -o %N 2>/dev/null | sort -u | wc -l)" -eq 2 ] && return 0
    sleep 0.2
  done
  echo "slurm cluster did not come up; logs in $dir/log" >&2
  tail -n 20 "$dir"/log/*.log >&2 || true
  return 1
}

slurm_cluster_down() {
  local pid
  for pid in "${SLURM_TEST_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2> /dev/null || true
  done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${SLURM_TEST_PIDS[@]:-}"; do
      [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null && alive=1
    done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${SLURM_TEST_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2> /dev/null || true
  done
  SLURM_TEST_PIDS=()
}

slurm_job_state() { scontrol -o show job "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

slurm_wait_job() {  # ID TIMEOUT_S STATE...
  local id=$1 timeout=$2 state=""
  shift 2
  local deadline=$((SECONDS + timeout))
  while [ $SECONDS -lt $deadline ]; do
    state=$(slurm_job_state "$id")
    for s in "$@"; do
      if [ "$state" = "$s" ]; then
        echo "$state"
        return 0
      fi
    done
    sleep 0.5
  done
  echo "${state:-UNKNOWN}"
  return 1
}
