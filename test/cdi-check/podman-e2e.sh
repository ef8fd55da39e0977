#!/bin/sh
# End to end with a real CDI consumer: podman 4.3 (--runtime runc) runs a
# container with --device nvidia.com/pgpu=<ID> resolved from the spec that
# `kata-gpu-device-plugin cdi` writes for a fixture host, and the device
# node must appear in the container.
#
# Env: KGDP_BIN, KGDP_FIXTURES (set by make); KGDP_PODMAN_FIXTURE (default
# hgx-h100-iommufd). Exit: 0 pass, 77 skipped (a "SKIP:" line says why),
# 1 failed.
#
# podman 4.3 reads CDI specs only from /etc/cdi and /var/run/cdi (no option
# to choose a directory), so the spec is copied into /var/run/cdi under a
# name of its own, with a lock against concurrent runs, and removed on exit.
# Images and containers live in a temp storage root (vfs driver).

set -u

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

: "${KGDP_BIN:?KGDP_BIN is not set (run through make)}"
: "${KGDP_FIXTURES:?KGDP_FIXTURES is not set (run through make)}"
fixture=${KGDP_PODMAN_FIXTURE:-hgx-h100-iommufd}
fx="$KGDP_FIXTURES/$fixture"
run_dir=/var/run/cdi
spec_name="kgdp-e2e-$$-nvidia.com-pgpu.json"

[ "$(id -u)" = 0 ] || skip "not root (podman needs root to inject device nodes)"
command -v podman >/dev/null 2>&1 || skip "podman is not installed"
command -v runc >/dev/null 2>&1 || skip "runc is not installed"
command -v flock >/dev/null 2>&1 || skip "flock is not installed"
busybox=$(command -v busybox 2>/dev/null) || skip "busybox is not installed (busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is dynamically linked (install busybox-static)"
[ -d "$fx/sys" ] || fail "fixture $fx missing"

tmp=$(mktemp -d /tmp/kgdp-podman-XXXXXX) || fail "mktemp"
created_run_dir=
cleanup() {
    rm -f "$run_dir/$spec_name"
    [ -n "$created_run_dir" ] && rmdir "$run_dir" 2>/dev/null
    grep -o " $tmp/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Another run of this test (another worktree) would define the same kind.
exec 9>/run/lock/kgdp-podman-e2e.lock || skip "cannot create /run/lock/kgdp-podman-e2e.lock"
flock -w 300 9 || fail "lock /run/lock/kgdp-podman-e2e.lock busy for 300 s"
rm -f "$run_dir"/kgdp-e2e-*-nvidia.com-pgpu.json # left by a killed run
for f in /etc/cdi/* "$run_dir"/*; do
    [ -f "$f" ] || continue
    grep -q 'nvidia.com/pgpu' "$f" && skip "$f already defines nvidia.com/pgpu (would conflict)"
done

# The dev tree as character devices: podman stats every hostPath.
major=$((0x$(stat -c '%t' /dev/null))) || fail "stat /dev/null"
minor=$((0x$(stat -c '%T' /dev/null))) || fail "stat /dev/null"
cp -r "$fx/dev" "$tmp/dev" || fail "copy $fx/dev"
find "$tmp/dev" -type f >"$tmp/files.txt" || fail "find $tmp/dev"
while read -r f; do
    rm -f "$f"
    mknod "$f" c "$major" "$minor" 2>"$tmp/mknod.err" ||
        skip "mknod not allowed: $(cat "$tmp/mknod.err")"
done <"$tmp/files.txt"

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

mkdir -p "$tmp/rootfs/bin" || fail "mkdir rootfs"
cp "$busybox" "$tmp/rootfs/bin/busybox" || fail "copy $busybox"
for a in sh ls true; do ln -s busybox "$tmp/rootfs/bin/$a"; done
tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || fail "tar rootfs"

P="podman --root $tmp/root --runroot $tmp/run --tmpdir $tmp/libpod --storage-driver vfs"
P="$P --cgroup-manager cgroupfs --events-backend file"
$P import -q "$tmp/rootfs.tar" kgdp-e2e:busybox >"$tmp/import.log" 2>&1 ||
    skip "podman import failed: $(cat "$tmp/import.log")"
# podman's default rlimits exceed what a container may set without
# CAP_SYS_RESOURCE in some sandboxes: ask for modest ones.
# The smaller of our soft limit (from /proc/self/limits) and cap.
limit() {
    v=$(awk -v k="$1" 'index($0, k) == 1 { print $(NF - 2) }' /proc/self/limits)
    case $v in '' | unlimited) echo "$2" ;; *) [ "$v" -gt "$2" ] && echo "$2" || echo "$v" ;; esac
}
nofile=$(limit "Max open files" 1024)
nproc=$(limit "Max processes" 4096)
RUN="$P run --rm --runtime runc --network none --ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"

$RUN kgdp-e2e:busybox true >"$tmp/trial.log" 2>&1 ||
    skip "podman cannot run a container here: $(cat "$tmp/trial.log")"
nodes=$(tail -n +2 "$tmp/dev.txt")
dirs=$(for p in $nodes; do echo "${p%/*}"; done | sort -u)
# Without the device its nodes are absent (the check below can fail).
for p in $nodes; do
    $RUN kgdp-e2e:busybox ls "$p" >/dev/null 2>&1 &&
        fail "$p exists in a container without --device"
done

if [ ! -d "$run_dir" ]; then
    mkdir -p "$run_dir" || fail "cannot create $run_dir"
    created_run_dir=1
fi
cp "$spec" "$run_dir/$spec_name" || fail "copy spec to $run_dir"
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
echo "PASS: podman injected nvidia.com/pgpu=$id from our spec"
