#!/bin/sh
# make demo: run the plugin on the bundled HGX H100 example host (a
# generated fake sysfs/dev tree) with the C kubelet simulator, and show
# what the kubelet and the container runtime get.
set -eu

: "${KGDP_BIN:?run through make demo}" "${KGDP_SIM:?}" "${KGDP_FIXTURES:?}"
host="$KGDP_FIXTURES/hgx-h100-iommufd"
work=$(mktemp -d /tmp/kgdp-demo.XXXXXX)
plugin_pid=""
cleanup() {
    [ -n "$plugin_pid" ] && kill "$plugin_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir -p "$work/kubelet" "$work/cdi"

# A copy of the example host's /dev whose vfio entries are character
# devices (those of /dev/null: no GPU here), so that the CDI library can
# stat them when it injects devices below. As non-root: links to /dev/null.
cp -a "$host/dev" "$work/dev"
find "$work/dev" -type f | while read -r node; do
    rm -f "$node"
    mknod "$node" c 1 3 2>/dev/null || ln -s /dev/null "$node"
done

section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "Example host: HGX H100, 8 GPUs + 4 NVSwitches bound to vfio-pci, iommufd"
echo "fake sysfs: $host/sys   fake /dev: $host/dev"
section "kata-gpu-device-plugin discover"
"$KGDP_BIN" discover --sysfs-root "$host/sys" --dev-root "$host/dev"

section "kubelet simulator + kata-gpu-device-plugin serve"
# The simulated kubelet listens first, like a real node; the plugin
# serves its sockets, registers, and answers the simulator's calls.
"$KGDP_SIM" --kubelet-dir "$work/kubelet" --wait-resources 2 --timeout 20 \
    --prefer nvidia.com/pgpu=2 --prefer nvidia.com/pgpu=4 \
    --allocate nvidia.com/pgpu=0000:0a:00.0,0000:11:00.0 \
    --allocate nvidia.com/nvswitch=0000:1c:00.0 \
    >"$work/sim.out" 2>&1 &
sim_pid=$!
i=0
while [ ! -S "$work/kubelet/kubelet.sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
"$KGDP_BIN" serve --sysfs-root "$host/sys" --dev-root "$work/dev" \
    --kubelet-dir "$work/kubelet" --cdi-dir "$work/cdi" --log-level info \
    2>"$work/plugin.log" &
plugin_pid=$!
status=0
wait "$sim_pid" || status=$?
cat "$work/sim.out"

section "plugin log (key=value, one line per event)"
grep -E 'event=(start|cdi_written|serving|registered|list_sent|preferred|allocate)' \
    "$work/plugin.log" | cut -c1-160

section "CDI spec written for containerd and Kata: $work/cdi"
ls -l "$work/cdi"
spec="$work/cdi/kata-gpu-device-plugin_nvidia.com-nvswitch.json"
[ -f "$spec" ] && cat "$spec"

if [ -n "${KGDP_CDI_CHECK:-}" ] && [ -x "$KGDP_CDI_CHECK" ]; then
    section "The Allocate result resolved through the CDI library (as containerd/Kata do)"
    names="nvidia.com/pgpu=0000:0a:00.0,nvidia.com/pgpu=0000:11:00.0,nvidia.com/nvswitch=0000:1c:00.0"
    echo "cdi-check -schema -dir $work/cdi $names"
    "$KGDP_CDI_CHECK" -schema -dir "$work/cdi" "$names" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print("devices known to the registry: %d" % len(r["devices"]))
for arg, nodes in r["injected"].items():
    for n in nodes:
        print("  injected %-26s %s %s:%s  (host %s)" % (n["path"], n["type"], n["major"], n["minor"], n["hostPath"]))
for e in r["errors"]:
    print("  error: %s" % e)
sys.exit(1 if r["errors"] else 0)' || status=1
fi

section "shutdown (SIGTERM)"
kill -TERM "$plugin_pid"
wait "$plugin_pid" && echo "plugin exited 0; sockets left in kubelet dir: $(ls "$work/kubelet" | grep -v kubelet.sock | wc -l)"
plugin_pid=""
if [ "$status" -ne 0 ]; then
    echo "demo: the kubelet simulator reported a failure (exit $status)" >&2
    exit 1
fi
