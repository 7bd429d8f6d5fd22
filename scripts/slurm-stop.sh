#!/usr/bin/env bash
# slurm-stop.sh - stop the cluster scripts/slurm-start.sh started: cancel every job, stop slurmd
# and slurmctld (scontrol shutdown, then their pid files: TERM, then KILL), then munged. Never
# kills by process name. Safe to run when nothing runs. --purge also deletes state, spool, logs.
set -uo pipefail

ROOT=${MRISEQ_SLURM_ROOT:-/tmp/mriseq-slurm}
export SLURM_CONF=$ROOT/etc/slurm.conf
PURGE=0
for a in "$@"; do
  case "$a" in
    --purge) PURGE=1 ;;
    *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
  esac
done
say() { echo "[slurm-stop] $*" >&2; }

live() {
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

# stop PIDFILE COMM SECONDS: TERM, wait, then KILL; the pid file is the only way we find it
stop() {
  local pid
  [ -f "$1" ] || return 0
  if live "$1" "$2"; then
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq $(($3 * 10))); do live "$1" "$2" || break; sleep 0.1; done
    if live "$1" "$2"; then
      say "$2 ($pid) ignored TERM; sending KILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$1"
}

if [ -f "$SLURM_CONF" ] && command -v scontrol >/dev/null && scontrol ping 2>/dev/null | grep -q UP; then
  jobs=$(squeue -h -o %F 2>/dev/null | sort -u | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
  fi
  scontrol shutdown >/dev/null 2>&1
fi
for _ in $(seq 100); do
  live "$ROOT/run/slurmctld.pid" slurmctld || live "$ROOT/run/slurmd.pid" slurmd || break
  sleep 0.1
done
stop "$ROOT/run/slurmd.pid" slurmd 10
stop "$ROOT/run/slurmctld.pid" slurmctld 10
stop /run/munge/munged.pid munged 5
rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
if [ "$PURGE" = 1 ]; then
  rm -rf "${ROOT:?}/state" "${ROOT:?}/spool" "${ROOT:?}/log" "${ROOT:?}/run"
fi
say "stopped"
