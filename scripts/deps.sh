#!/bin/sh
# Installs the Debian packages the project builds and runs with, if any are missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
# munge, slurmctld, slurmd, slurm-client, procps (pgrep, ps): the Slurm executor's test (tests/slurm.sh)
pkgs="libmujoco-dev libopenblas-dev gnuplot-nox munge slurmctld slurmd slurm-client procps"
missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "deps: all present ($pkgs)"
    exit 0
fi
echo "deps: missing:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; run this, then make again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "deps: installed$missing"
