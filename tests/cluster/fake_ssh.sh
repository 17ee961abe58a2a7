#!/bin/sh
# A plm_rsh_agent for Open MPI that "logs in" to a pretend node on this machine: mpirun calls it as
# `fake_ssh.sh [ssh options] HOST COMMAND...` to start its daemon there. It drops the options, gives the
# node its own Open MPI session directory and shared-memory backing directory (the "nodes" share one
# hostname, so their segment names would collide), and runs the command locally. Nothing leaves the host;
# the test pins Open MPI's own traffic to loopback (oob/btl_tcp_if_include lo).
while [ $# -gt 0 ]; do
  case "$1" in
    -o | -p | -l | -i | -F) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
host=$1
shift
base=${WISESR_FAKE_NODES_DIR:?WISESR_FAKE_NODES_DIR must name a directory for the pretend nodes}
mkdir -p "$base/$host/tmp" "$base/$host/shm"
export TMPDIR="$base/$host/tmp" OMPI_MCA_btl_vader_backing_directory="$base/$host/shm"
export WISESR_FAKE_NODE="$host"
exec sh -c "$*"
