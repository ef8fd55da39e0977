#!/bin/sh
# Resident memory of the daemon serving a fixture host: start the C kubelet
# simulator, then `serve` on the fixture, let the simulator register every
# resource, list, prefer and allocate, and read the daemon's
# /proc/PID/status (VmRSS, VmHWM) and smaps_rollup (Pss) while it serves.
#
# usage: measure-rss.sh BINARY SIM FIXTURE_DIR RESOURCES ALLOCATE_ARG
#   e.g. measure-rss.sh build/kata-gpu-device-plugin build/test/kubelet-sim \
#        build/fixtures/hgx-h100-iommufd 2 nvidia.com/pgpu=0000:0a:00.0
# RESCANS=N (env) then sends N SIGHUPs (full rescans), one a second, before
# reading. Prints one line: rss_kib=N hwm_kib=N pss_kib=N cpu_ms=N (CPU time
# the daemon used since it started).
set -eu

bin=$1 sim=$2 fx=$3 n=$4 alloc=$5
work=$(mktemp -d /tmp/kgdp-rss.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/kubelet" "$work/cdi"

"$sim" --kubelet-dir "$work/kubelet" --wait-resources "$n" --timeout 60 \
    --prefer "${alloc%%=*}=1" --allocate "$alloc" >"$work/sim.out" 2>&1 &
sim_pid=$!
i=0
while [ ! -S "$work/kubelet/kubelet.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
"$bin" serve --sysfs-root "$fx/sys" --dev-root "$fx/dev" --kubelet-dir "$work/kubelet" \
    --cdi-dir "$work/cdi" --rescan-interval 0 2>"$work/plugin.log" &
pid=$!
if ! wait "$sim_pid"; then
    cat "$work/sim.out" "$work/plugin.log" >&2
    echo "measure-rss: the kubelet simulator failed" >&2
    exit 1
fi
kill -0 "$pid" || { cat "$work/plugin.log" >&2; exit 1; }
i=0
while [ $i -lt "${RESCANS:-0}" ]; do kill -HUP "$pid"; sleep 1; i=$((i + 1)); done
kill -0 "$pid" || { cat "$work/plugin.log" >&2; exit 1; }
ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
cpu_ms=$((ticks * 1000 / $(getconf CLK_TCK)))
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup")
echo "rss_kib=$rss hwm_kib=$hwm pss_kib=$pss cpu_ms=$cpu_ms"
