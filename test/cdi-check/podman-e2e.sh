#!/bin/sh
# End to end with a real CDI consumer: podman 4.3 (--runtime runc) runs a
# container with --device nvidia.com/pgpu=<ID> resolved from the spec that
# `kata-gpu-device-plugin cdi` writes for a fixture host, and the device
# nodes must appear in the container.
#
# Env: KGDP_BIN, KGDP_FIXTURES, KGDP_SRCDIR (set by make);
# KGDP_PODMAN_FIXTURE (default hgx-h100-iommufd). Exit: 0 pass, 77 skipped
# (a "SKIP:" line says why; never under CI=true), 1 failed.
#
# Runs in its own mount namespace with tmpfs over /run/cdi and /etc/cdi
# (test/support/podman.sh): the host's CDI dirs are neither read nor
# written, so concurrent runs do not conflict.

set -u
start=$(date +%s)
: "${KGDP_BIN:?KGDP_BIN is not set (run through make)}"
: "${KGDP_FIXTURES:?KGDP_FIXTURES is not set (run through make)}"
test_name=podman-cdi
. "${KGDP_SRCDIR:-.}/test/support/podman.sh"
podman_enter_ns "$@"

fixture=${KGDP_PODMAN_FIXTURE:-hgx-h100-iommufd}
fx="$KGDP_FIXTURES/$fixture"
[ -d "$fx/sys" ] || fail "fixture $fx missing"
tmp=$(mktemp -d /tmp/kgdp-podman-XXXXXX) || fail "mktemp"
trap podman_cleanup EXIT
trap 'exit 1' INT TERM

# The dev tree as character devices (/dev/null's numbers): podman stats
# every hostPath.
major=$((0x$(stat -c '%t' /dev/null))) || fail "stat /dev/null"
minor=$((0x$(stat -c '%T' /dev/null))) || fail "stat /dev/null"
podman_mknod_tree "$fx/dev" "$tmp/dev" "$major" "$minor" same

"$KGDP_BIN" cdi --sysfs-root "$fx/sys" --dev-root "$tmp/dev" --output "$tmp/cdi" ||
    fail "kata-gpu-device-plugin cdi failed"
spec="$tmp/cdi/kata-gpu-device-plugin_nvidia.com-pgpu.json"
[ -f "$spec" ] || fail "no pgpu spec written"
# First device: its ID, then its container paths, one a line.
/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"][0]
print(d["name"])
for n in d["containerEdits"]["deviceNodes"]:
    print(n["path"])
' "$spec" >"$tmp/dev.txt" || fail "cannot read $spec"
id=$(head -n1 "$tmp/dev.txt")
echo "device nvidia.com/pgpu=$id, nodes: $(tail -n +2 "$tmp/dev.txt" | tr '\n' ' ')"

podman_setup
nodes=$(tail -n +2 "$tmp/dev.txt")
dirs=$(for p in $nodes; do echo "${p%/*}"; done | sort -u)
# Without the device its nodes are absent (the check below can fail).
for p in $nodes; do
    $RUN kgdp-e2e:busybox ls "$p" >/dev/null 2>&1 &&
        fail "$p exists in a container without --device"
done
# Without our spec podman cannot resolve the name.
$RUN --device "nvidia.com/pgpu=$id" kgdp-e2e:busybox true >/dev/null 2>&1 &&
    fail "podman resolved nvidia.com/pgpu=$id with no spec in /var/run/cdi"

cp "$spec" /var/run/cdi/ || fail "copy spec to /var/run/cdi (tmpfs)"
for d in $dirs; do
    $RUN --device "nvidia.com/pgpu=$id" kgdp-e2e:busybox ls -l "$d" >"$tmp/out.log" 2>&1
    status=$?
    echo "ls -l $d:"
    cat "$tmp/out.log"
    [ $status = 0 ] || fail "podman run --device nvidia.com/pgpu=$id: exit $status"
    for p in $nodes; do
        [ "${p%/*}" = "$d" ] || continue
        grep -Eq "^c.* $major, +$minor .* ${p##*/}\$" "$tmp/out.log" ||
            fail "$p is not a character device $major:$minor in the container"
    done
done
echo "PASS: $test_name: podman 4.3 + runc resolved nvidia.com/pgpu=$id ($fixture) from our spec in /var/run/cdi and injected $(echo $nodes | wc -w) device node(s); $(($(date +%s) - start)) s"
