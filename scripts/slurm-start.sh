#!/usr/bin/env bash
# slurm-start.sh - the project's one-node SLURM cluster on loopback (test fixture for src/scale).
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge (--no-install-recommends) when run
# as root and they are missing, makes a munge key if there is none, starts munged, writes a
# slurm.conf for one node called "localhost" on 127.0.0.1, starts slurmctld and slurmd as plain
# background daemons (no systemd) with pid files under $MRISEQ_SLURM_ROOT/run, and waits until the
# node is ready. Running it again on a healthy cluster only re-checks.
#
# Env:
#   MRISEQ_SLURM_ROOT  where config, state, spool, logs and pid files live (default /tmp/mriseq-slurm)
#   MRISEQ_SLURM_CPUS  CPUs the node advertises (default: what slurmd -C sees); more than the
#                      machine has lets a small test array run in one wave
#   MRISEQ_SLURM_WAIT  seconds to wait for the node (default 60)
# Prints `export SLURM_CONF=...` on stdout last; clients need it (we never touch /etc/slurm).
# Exit 3 means "SLURM cannot be started here" (not root and not installed, apt failed): tests skip.
set -euo pipefail

ROOT=${MRISEQ_SLURM_ROOT:-/tmp/mriseq-slurm}
WAIT_S=${MRISEQ_SLURM_WAIT:-60}
CONF=$ROOT/etc/slurm.conf
export SLURM_CONF=$CONF
NODE=localhost

say() { echo "[slurm-start] $*" >&2; }
cannot() { say "cannot start SLURM: $*"; exit 3; }
fail() {
  say "ERROR: $*"
  for f in "$ROOT/log/slurmctld.log" "$ROOT/log/slurmd.log"; do
    if [ -f "$f" ]; then echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; fi
  done
  exit 1
}

# live PIDFILE COMM: the pid in PIDFILE is a running (not zombie) process called COMM. Zombies
# matter here: PID 1 in these containers reaps late.
live() {
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

have_all() { command -v slurmctld && command -v slurmd && command -v sbatch && command -v munged; } >/dev/null

# ---- install ----------------------------------------------------------------------------------
if ! have_all; then
  [ "$(id -u)" = 0 ] || cannot "slurmctld/slurmd/sbatch/munged are not installed and we are not root"
  command -v apt-get >/dev/null || cannot "slurm is not installed and there is no apt-get"
  mkdir -p "$ROOT"
  say "installing slurmctld slurmd slurm-client munge (log: $ROOT/apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  opts=(-q -y -o DPkg::Lock::Timeout=600)
  pkgs=(slurmctld slurmd slurm-client munge)
  if ! apt-get "${opts[@]}" install --no-install-recommends "${pkgs[@]}" >"$ROOT/apt.log" 2>&1; then
    # package lists missing or stale: refresh once
    apt-get "${opts[@]}" update >>"$ROOT/apt.log" 2>&1 || true
    apt-get "${opts[@]}" install --no-install-recommends "${pkgs[@]}" >>"$ROOT/apt.log" 2>&1 ||
      { tail -n 15 "$ROOT/apt.log" >&2; cannot "apt-get install failed (see $ROOT/apt.log)"; }
  fi
  have_all || cannot "installed packages but the daemons are still missing"
fi
[ "$(id -u)" = 0 ] || cannot "the daemons need root (SlurmUser=root, munged as user munge)"

# ---- munge ------------------------------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0700 /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0600 /etc/munge/munge.key
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
if ! munge_works; then
  if [ -f /run/munge/munged.pid ] && ! live /run/munge/munged.pid munged; then
    # a killed munged leaves a pid file and socket that stop a new one from starting
    rm -f /run/munge/munged.pid /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  fi
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge_works && break; sleep 0.1; done
  munge_works || fail "munge -n | unmunge fails after starting munged"
fi

# ---- slurm.conf -------------------------------------------------------------------------------
mkdir -p "$ROOT"/{etc,state,spool,log,run}
chmod 0755 "$ROOT"
# Advertise no more memory than slurmd measures: a larger RealMemory drains the node.
HW=$(slurmd -C 2>/dev/null | head -n 1 || true)
CPUS=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$HW"); CPUS=${CPUS:-$(nproc)}
MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW"); MEM=${MEM:-1000}
OVERRIDES=""
if [ -n "${MRISEQ_SLURM_CPUS:-}" ] && [ "$MRISEQ_SLURM_CPUS" != "$CPUS" ]; then
  CPUS=$MRISEQ_SLURM_CPUS
  OVERRIDES="SlurmdParameters=config_overrides"
fi
WANT=$(cat <<CONF
# written by mriseq scripts/slurm-start.sh: one node on loopback, for tests
ClusterName=mriseq
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool
SlurmctldPidFile=$ROOT/run/slurmctld.pid
SlurmdPidFile=$ROOT/run/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
# no cgroups and no systemd in containers
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# cores are the consumable; without this a job with no --mem takes the whole node
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# keep finished jobs visible to squeue --states=all and scontrol for an hour
MinJobAge=3600
SchedulerType=sched/backfill
# the default batch_sched_delay adds ~3 s to every wave
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
$OVERRIDES
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
)
# Deliberately no DependencyParameters=kill_invalid_depend: real clusters rarely set it, so the
# tests prove that mriseq's own --kill-on-invalid-dep=yes is what cancels a doomed merge.
CHANGED=0
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$WANT" ]; then
  printf '%s\n' "$WANT" >"$CONF.tmp" && mv "$CONF.tmp" "$CONF"
  CHANGED=1
fi

# ---- daemons ----------------------------------------------------------------------------------
if live "$ROOT/run/slurmctld.pid" slurmctld && [ "$CHANGED" = 1 ]; then
  say "configuration changed: restarting the daemons"
  scontrol shutdown >/dev/null 2>&1 || true
  for _ in $(seq 100); do
    live "$ROOT/run/slurmctld.pid" slurmctld || live "$ROOT/run/slurmd.pid" slurmd || break
    sleep 0.1
  done
fi
if ! live "$ROOT/run/slurmctld.pid" slurmctld; then
  say "starting slurmctld"
  slurmctld -i || fail "slurmctld did not start"
fi
STARTED=0
if ! live "$ROOT/run/slurmd.pid" slurmd; then
  say "starting slurmd"
  STARTED=$(date +%s)
  slurmd -N "$NODE" || fail "slurmd did not start"
fi

# ---- wait for the node ------------------------------------------------------------------------
t0=$SECONDS
deadline=$((SECONDS + WAIT_S))
state=""
while :; do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  # With saved state the node can read idle before the new slurmd has registered: also require
  # that the controller has heard from the slurmd started above.
  seen=$(scontrol show node "$NODE" 2>/dev/null | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')
  seen_s=$(date -d "$seen" +%s 2>/dev/null || echo 0)
  case "$state" in
    idle | mixed | allocated | completing) [ "$seen_s" -ge $((STARTED - 1)) ] && break ;;
    *drain* | down*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  # a daemon that could not bind its port (another cluster running?) exits right after forking
  # (after a grace period: the pid files appear a moment after the daemons fork)
  if [ $((SECONDS - t0)) -ge 3 ]; then
    live "$ROOT/run/slurmctld.pid" slurmctld || fail "slurmctld exited (port 6817 taken by another cluster?)"
    live "$ROOT/run/slurmd.pid" slurmd || fail "slurmd exited (port 6818 taken by another cluster?)"
  fi
  [ $SECONDS -lt $deadline ] || fail "node $NODE not ready after ${WAIT_S}s (state '$state')"
  sleep 0.2
done
say "ready: node $NODE is $state"
echo "export SLURM_CONF=$CONF"
