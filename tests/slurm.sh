#!/bin/sh
# The Slurm executor against a real Slurm: munged, slurmctld and slurmd (Debian's munge, slurmctld,
# slurmd, slurm-client) started here as a single-node cluster on localhost (no cgroups), a tiny
# `pwm experiment table` (2 tasks x 2 seeds, tiny budgets) submitted as job arrays, one stage told
# to checkpoint with `scancel --signal=USR1` and requeued, and the merged result compared with a
# `--executor local --jobs 2` run of the same experiment. Stops the daemons it started.
#
#   sh tests/slurm.sh [build/pwm]
# Skips (exit 0, saying why) when the packages are missing or the daemons do not start, unless
# PWM_REQUIRE_SLURM=1 (CI), where that fails.
set -u
PWM=$(realpath "${1:-build/pwm}")
need=${PWM_REQUIRE_SLURM:-0}

skip() {
    if [ "$need" = 1 ]; then echo "slurm test: FAIL: $* (PWM_REQUIRE_SLURM=1)"; exit 1; fi
    echo "slurm test: SKIPPED: $*"
    exit 0
}

fail() {
    echo "slurm test: FAIL: $*"
    [ -n "${tmp:-}" ] && for f in slurmctld.log slurmd.log; do echo "--- $f (last lines)"; tail -n 15 "$tmp/$f" 2>/dev/null; done
    exit 1
}

for b in munged slurmctld slurmd sbatch squeue scancel scontrol sinfo; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] ||
        skip "$b not found (make deps installs munge slurmctld slurmd slurm-client)"
done
[ "$(id -u)" = 0 ] || skip "not root: slurmd needs root to start jobs"
[ -x "$PWM" ] || fail "$PWM not built"
PATH=$PATH:/usr/sbin

tmp=$(mktemp -d /tmp/pwm-slurm-XXXXXX)
chmod 700 "$tmp"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    sleep 1
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    [ "${PWM_KEEP_SLURM_TMP:-0}" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# munge: a key of our own and a socket in the temp dir
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$tmp/munge/munge.key"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed" \
    > "$tmp/munged.out" 2>&1 &
pids="$pids $!"

# slurm: one node with this machine's CPUs and (most of) its memory, ports off the defaults
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
port=$((20000 + $$ % 20000))
cat > "$tmp/slurm.conf" <<EOF
ClusterName=pwmtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.sock,cred_expire=5
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SwitchType=switch/none
MpiDefault=none
JobRequeue=1
ReturnToService=2
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=pwm Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
sleep 1
slurmctld -D -c -i -f "$tmp/slurm.conf" > "$tmp/slurmctld.out" 2>&1 &
pids="$pids $!"
slurmd -D -f "$tmp/slurm.conf" -N "$host" > "$tmp/slurmd.out" 2>&1 &
pids="$pids $!"
up=0
for i in $(seq 1 40); do
    if sinfo -h -o %t 2>/dev/null | grep -q idle; then up=1; break; fi
    sleep 0.5
done
if [ $up = 0 ]; then
    tail -n 5 "$tmp/slurmctld.log" "$tmp/slurmd.log" "$tmp/munged.out" 2>/dev/null
    skip "the single-node cluster did not come up in 20 s (logs above)"
fi
echo "slurm test: cluster up ($host, $cpus CPUs, ${mem} MB) in $tmp"

# the experiment: 2 tasks x 2 seeds x (SHAC, PPO, PWM collect -> pretrain -> train), tiny budgets
opts="--tasks hopper,double-pendulum --seeds 2 --threads 1 --budget 4096 --collect 1024 --wm-steps 4 --evals 2"
t0=$(date +%s)
# shellcheck disable=SC2086
"$PWM" experiment table $opts --executor local --jobs 2 --out "$tmp/local" > "$tmp/local.txt" 2>&1 ||
    fail "the local run failed: $(tail -n 5 "$tmp/local.txt")"
t1=$(date +%s)
# shellcheck disable=SC2086
"$PWM" experiment table $opts --executor slurm --slurm-arg time=10 --slurm-signal 60 --out "$tmp/slurm" \
    > "$tmp/submit.txt" 2>&1 || fail "the submission failed: $(cat "$tmp/submit.txt")"
cat "$tmp/submit.txt"
[ "$(grep -c '^wave' "$tmp/slurm/exec/jobs.txt")" = 3 ] || fail "expected 3 waves: $(cat "$tmp/slurm/exec/jobs.txt")"

# preempt hopper's SHAC seed 0 (wave 0) once its run has logged an epoch
job0=$(awk '/^wave 0 / { print $4 }' "$tmp/slurm/exec/jobs.txt")
idx=$(awk -F'\t' '$1 == 0 { print $2 }' "$tmp/slurm/exec/plan.txt" | grep -n '^hopper/shac-seed0$' | cut -d: -f1)
idx=$((idx - 1))
log="$tmp/slurm/hopper/shac-seed0/log.csv"
for i in $(seq 1 600); do
    [ -f "$log" ] && [ "$(wc -l < "$log")" -ge 2 ] && break
    sleep 0.1
done
# hold the stage (its process group) until Slurm's signal has reached the batch shell: Slurm 22.05
# may take 5 s retries to deliver it, and a busy machine would otherwise finish the 4 epochs first
spid=$(pgrep -f -- "--stage hopper/shac-seed0" | head -n 1)
[ -n "$spid" ] || fail "no process runs stage hopper/shac-seed0"
pgid=$(ps -o pgid= -p "$spid" | tr -d ' ')
kill -STOP -- "-$pgid"
[ -f "$tmp/slurm/hopper/shac-seed0/eval.csv" ] && fail "hopper/shac-seed0 finished before it could be preempted"
# the array task's own job id (scancel on ARRAY_TASK answers "try again later" for a running task)
task=$(squeue -h -j "${job0}_${idx}" -o %A)
[ -n "$task" ] || fail "job ${job0}_${idx} is not in the queue"
# Slurm 22.05 delivers it but answers "try again later" for an array task and retries every 5 s;
# a retry must not reach the requeued run, so scancel is stopped once the requeue shows
scancel --batch --signal=USR1 "$task" 2>/dev/null &
sc=$!
pids="$pids $sc"
out="$tmp/slurm/exec/wave-0-$idx.out"
for i in $(seq 1 300); do
    grep -q "signal: passing it on" "$out" 2>/dev/null && break
    sleep 0.1
done
kill -CONT -- "-$pgid"
for i in $(seq 1 300); do
    grep -q "requeueing" "$out" 2>/dev/null && break
    sleep 0.1
done
kill "$sc" 2>/dev/null
echo "slurm test: sent USR1 to stage hopper/shac-seed0 (job ${job0}_${idx} = $task)"

# wait for every wave (the last job leaves the queue)
for i in $(seq 1 1200); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
    sleep 0.5
done
[ -z "$(squeue -h -o %i)" ] || fail "jobs still queued after 10 minutes: $(squeue)"
"$PWM" experiment table --status "$tmp/slurm" || fail "not every stage finished: $(cat "$tmp/slurm/exec/"*.out | tail -n 30)"
"$PWM" experiment table --merge "$tmp/slurm" > "$tmp/merge.txt" 2>&1 || fail "--merge failed: $(tail "$tmp/merge.txt")"
t2=$(date +%s)
# submitting again finds every stage finished and submits nothing
# shellcheck disable=SC2086
"$PWM" experiment table $opts --executor slurm --out "$tmp/slurm" > "$tmp/submit2.txt" 2>&1 ||
    fail "the second submission failed: $(cat "$tmp/submit2.txt")"
grep -q "every stage is finished" "$tmp/submit2.txt" || fail "the second submission: $(cat "$tmp/submit2.txt")"
[ -z "$(squeue -h -o %i)" ] || fail "the second submission queued jobs: $(squeue)"

# the stage was preempted, requeued and resumed
grep -q "preempted (checkpoint written): requeueing" "$out" || fail "no requeue in $out: $(cat "$out")"
grep -q "restart 1" "$out" || fail "the requeued stage did not run again: $(cat "$out")"
grep -q "restart 2" "$out" && fail "the stage was preempted twice: $(cat "$out")"
grep -q "resuming after epoch" "$tmp/slurm/hopper/shac-seed0.log" || fail "hopper/shac-seed0 did not resume"

# the merged result equals the local one (wall-time columns aside)
same() {
    cmp -s "$1" "$2" || { diff "$1" "$2" | head; fail "$3 differs between the local and the Slurm run"; }
}
same "$tmp/local/table.csv" "$tmp/slurm/table.csv" table.csv
same "$tmp/local/table.md" "$tmp/slurm/table.md" table.md
for task in hopper double-pendulum; do
    for f in summary.csv peaks.csv; do same "$tmp/local/$task/$f" "$tmp/slurm/$task/$f" "$task/$f"; done
    cut -d, -f1-3,5 "$tmp/local/$task/compare.csv" > "$tmp/a.csv"
    cut -d, -f1-3,5 "$tmp/slurm/$task/compare.csv" > "$tmp/b.csv"
    same "$tmp/a.csv" "$tmp/b.csv" "$task/compare.csv"
done
cut -d, -f1,2,4- "$tmp/local/hopper/shac-seed0/log.csv" > "$tmp/a.csv"
cut -d, -f1,2,4- "$tmp/slurm/hopper/shac-seed0/log.csv" > "$tmp/b.csv"
same "$tmp/a.csv" "$tmp/b.csv" "the preempted stage's log.csv"
echo "slurm test: ok: preempted stage requeued and resumed; merged results equal the local run's" \
     "(local $((t1 - t0)) s, slurm $((t2 - t1)) s)"
