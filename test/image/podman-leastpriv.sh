#!/bin/sh
# The shipped image under the DaemonSet's security settings, with podman 4.3
# and runc: not privileged, every capability dropped, no new privileges,
# read-only root filesystem, the runtime's default seccomp profile, no
# network; mounts as in the DaemonSet (a fixture's sysfs tree at /sys and its
# /dev/vfio read-only, a kubelet dir and a CDI dir read-write). The C kubelet
# simulator on the host must see both resources register, list, prefer and
# allocate; the CDI spec the container wrote must resolve through the CDI
# library; `health` run inside the container (the liveness probe) must pass;
# the daemon must hold no capability; SIGTERM must stop it cleanly.
#
# Env (set by make): KGDP_BUILD (image archive in $KGDP_BUILD/image), KGDP_SIM,
# KGDP_CDI_CHECK, KGDP_FIXTURES. Exit: 0 pass, 77 skipped (a "SKIP:" line
# says why; with CI=true a skip is a failure), 1 failed.
set -u

fail() { echo "FAIL: $*"; exit 1; }
skip() {
    [ "${CI:-}" = true ] && fail "cannot run in CI: $*"
    echo "SKIP: $*"
    exit 77
}

: "${KGDP_BUILD:?KGDP_BUILD is not set (run through make)}"
: "${KGDP_SIM:?}" "${KGDP_CDI_CHECK:?}" "${KGDP_FIXTURES:?}"
archive="$KGDP_BUILD/image/kata-gpu-device-plugin.tar"
fx="$KGDP_FIXTURES/hgx-h100-iommufd"
started=$(date +%s)

[ "$(id -u)" = 0 ] || skip "not root (podman needs root for bind mounts of host trees)"
command -v podman >/dev/null 2>&1 || skip "podman is not installed"
command -v runc >/dev/null 2>&1 || skip "runc is not installed"
[ -f "$archive" ] || fail "$archive missing (make image)"
[ -d "$fx/sys" ] || fail "fixture $fx missing"

tmp=$(mktemp -d /tmp/kgdp-leastpriv-XXXXXX) || fail "mktemp"
P="podman --root $tmp/store/root --runroot $tmp/store/run --tmpdir $tmp/store/tmp"
P="$P --storage-driver vfs --cgroup-manager cgroupfs --events-backend file"
ctr="kgdp-leastpriv-$$"
sim_pid=
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null
    $P rm -f -t 0 "$ctr" >/dev/null 2>&1
    $P rm -f -t 0 "$ctr-discover" >/dev/null 2>&1
    grep -o " $tmp/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

$P load -q -i "$archive" >"$tmp/load.log" 2>&1 || fail "podman load: $(cat "$tmp/load.log")"
image=$(sed -n 's/^Loaded image.*: //p' "$tmp/load.log" | head -n1)
[ -n "$image" ] || fail "podman load named no image: $(cat "$tmp/load.log")"

# The host trees the DaemonSet mounts. runc mounts a cgroup fs at
# /sys/fs/cgroup inside the read-only /sys, so the copy needs that directory
# (a real /sys has it).
mkdir -p "$tmp/kubelet" "$tmp/cdi" "$tmp/nfd" || fail "mkdir"
cp -a "$fx" "$tmp/host" || fail "copy $fx"
mkdir -p "$tmp/host/sys/fs/cgroup" || fail "mkdir sys/fs/cgroup"

# Exactly the DaemonSet's securityContext (deployments/kustomize/base):
# privileged false, allowPrivilegeEscalation false (no_new_privs), drop ALL,
# readOnlyRootFilesystem, seccomp RuntimeDefault (podman's default profile),
# no hostNetwork. The ulimits are what podman may set on this machine.
SEC="--read-only --cap-drop=ALL --security-opt no-new-privileges --network none"
SEC="$SEC --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --runtime runc"
MOUNTS="-v $tmp/host/sys:/sys:ro -v $tmp/host/dev/vfio:/dev/vfio:ro"
MOUNTS="$MOUNTS -v $tmp/kubelet:/var/lib/kubelet/device-plugins -v $tmp/cdi:/var/run/cdi"
MOUNTS="$MOUNTS -v $tmp/nfd:/etc/kubernetes/node-feature-discovery/features.d"

# pci.ids is in the image: a name that only pci.ids knows (mixed fixture).
cp -a "$KGDP_FIXTURES/mixed" "$tmp/mixed" && mkdir -p "$tmp/mixed/sys/fs/cgroup" || fail "copy mixed"
$P run --name "$ctr-discover" $SEC -v "$tmp/mixed/sys:/sys:ro" -v "$tmp/mixed/dev/vfio:/dev/vfio:ro" \
    "$image" discover >"$tmp/discover.out" 2>&1 || fail "discover in the image: $(cat "$tmp/discover.out")"
grep -q 'TU104GL \[Tesla T4\]' "$tmp/discover.out" ||
    fail "discover in the image found no pci.ids name: $(cat "$tmp/discover.out")"
echo "discover in the image names 0000:e3:00.0 from pci.ids: TU104GL [Tesla T4]"

"$KGDP_SIM" --kubelet-dir "$tmp/kubelet" --wait-resources 2 --timeout 60 \
    --prefer nvidia.com/pgpu=2 --allocate nvidia.com/pgpu=0000:0a:00.0,0000:11:00.0 \
    --allocate nvidia.com/nvswitch=0000:1c:00.0 >"$tmp/sim.out" 2>&1 &
sim_pid=$!
i=0
while [ ! -S "$tmp/kubelet/kubelet.sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -S "$tmp/kubelet/kubelet.sock" ] || fail "kubelet simulator did not listen"

# The DaemonSet's config (ConfigMap volume) and environment.
cfg="${KGDP_SRCDIR:-.}/deployments/kustomize/base/config.json"
[ -f "$cfg" ] || fail "$cfg missing"
$P run -d --name "$ctr" $SEC $MOUNTS -v "$cfg:/etc/kata-gpu-device-plugin/config.json:ro" \
    -e P_GPU_ALIAS=pgpu -e NVSWITCH_ALIAS=nvswitch \
    "$image" serve --config=/etc/kata-gpu-device-plugin/config.json >"$tmp/run.log" 2>&1 ||
    fail "podman run: $(cat "$tmp/run.log")"
wait "$sim_pid"
sim_status=$?
sim_pid=
cat "$tmp/sim.out"
[ $sim_status = 0 ] || { $P logs "$ctr"; fail "kubelet simulator exit $sim_status"; }
for want in 'registered nvidia.com/pgpu endpoint=kgdp-pgpu.sock' \
    'registered nvidia.com/nvswitch endpoint=kgdp-nvswitch.sock' \
    'nvidia.com/pgpu: 8 device(s)' 'nvidia.com/nvswitch: 4 device(s)' \
    'preferred nvidia.com/pgpu x2: 0000:0a:00.0 0000:11:00.0' \
    'cdi nvidia.com/pgpu=0000:0a:00.0' 'cdi nvidia.com/nvswitch=0000:1c:00.0'; do
    grep -qF "$want" "$tmp/sim.out" || { $P logs "$ctr"; fail "simulator did not see: $want"; }
done
grep -q Unhealthy "$tmp/sim.out" && fail "a device is Unhealthy"
grep -qE '^  device /dev/vfio/devices/vfio[0-9]+ -> /dev/vfio/devices/vfio[0-9]+ \(mrw\)' "$tmp/sim.out" ||
    fail "Allocate returned no iommufd device node"

# Node labels for NFD, written through the features.d mount.
grep -qx 'kata-gpu.feature.node.kubernetes.io/gpu.count=8' "$tmp/nfd/kata-gpu-device-plugin" ||
    fail "no node labels in features.d: $(ls -la "$tmp/nfd"; cat "$tmp/nfd/kata-gpu-device-plugin")"
echo "node labels written in the container: $(grep -c '^kata-gpu' "$tmp/nfd/kata-gpu-device-plugin") labels"

# The liveness probe, as the kubelet runs it: exec in the container.
$P exec "$ctr" /usr/bin/kata-gpu-device-plugin health >"$tmp/health.out" 2>&1 ||
    fail "health in the container: $(cat "$tmp/health.out")"
cat "$tmp/health.out"
grep -q '^ok      nvidia.com/pgpu kgdp-pgpu.sock$' "$tmp/health.out" &&
    grep -q '^ok      nvidia.com/nvswitch kgdp-nvswitch.sock$' "$tmp/health.out" ||
    fail "health did not probe both sockets"

# What the daemon runs with, read from the host's /proc.
pid=$($P inspect -f '{{.State.Pid}}' "$ctr") || fail "podman inspect"
for want in 'CapEff:	0000000000000000' 'CapPrm:	0000000000000000' 'CapBnd:	0000000000000000' \
    'NoNewPrivs:	1' 'Seccomp:	2'; do
    grep -qF "$want" "/proc/$pid/status" || fail "daemon /proc/$pid/status lacks '$want': $(grep -E '^(Cap|NoNew|Seccomp)' "/proc/$pid/status")"
done
echo "daemon runs with: $(grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$pid/status" | tr '\t\n' '  ')"

# The spec's host paths are the host's /dev/vfio nodes (absent here): load
# and validate it with the CDI library and look the allocated names up.
names="nvidia.com/pgpu=0000:0a:00.0 nvidia.com/pgpu=0000:11:00.0 nvidia.com/nvswitch=0000:1c:00.0"
"$KGDP_CDI_CHECK" -schema -dir "$tmp/cdi" >"$tmp/cdi.json" 2>&1 ||
    fail "CDI library rejects the spec written in the container: $(cat "$tmp/cdi.json")"
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert not r["errors"], r["errors"]
assert len(r["devices"]) == 12, r["devices"]
missing = [n for n in sys.argv[2:] if n not in r["devices"]]
assert not missing, missing
' "$tmp/cdi.json" $names || fail "CDI spec: $(cat "$tmp/cdi.json")"
echo "CDI spec written in the container defines 12 devices, among them $names"

$P stop -t 10 "$ctr" >/dev/null 2>&1 || fail "podman stop"
code=$($P inspect -f '{{.State.ExitCode}}' "$ctr")
[ "$code" = 0 ] || { $P logs "$ctr"; fail "daemon exit code $code after SIGTERM"; }
ls "$tmp/kubelet" | grep -q '^kgdp-' && fail "sockets left after SIGTERM: $(ls "$tmp/kubelet")"
echo "PASS: image under --read-only --cap-drop=ALL no-new-privileges served the HGX H100 fixture ($(($(date +%s) - started)) s)"
