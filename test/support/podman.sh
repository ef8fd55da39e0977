# Shared by the podman tests (sourced; POSIX sh). The caller sets
# test_name before sourcing and tmp (a private work dir) before podman_setup.
#
# podman 4.3 reads CDI specs only from /etc/cdi and /var/run/cdi, and its
# default rlimits exceed the hard limits here; images cannot be pulled.
# So: a private mount namespace with tmpfs over both CDI dirs (nothing of
# the host's CDI state is seen or touched), fixed ulimits, and a busybox
# image imported from a busybox-static rootfs into a temp storage root.

# One line each; exit 1, or 77 for a skip (a failure under CI=true, where
# scripts/install-deps.sh has installed everything).
fail() {
    echo "FAIL: $test_name: $*"
    exit 1
}
skip() {
    [ "${CI:-}" = true ] && fail "would skip under CI: $*"
    echo "SKIP: $test_name: $*"
    exit 77
}

# Re-run the calling script ("$0" "$@") in a private mount namespace, with
# empty tmpfs over /run/cdi and /etc/cdi; returns only inside it. A
# /run/cdi created for the mount point is removed afterwards.
podman_enter_ns() {
    [ -n "${KGDP_PODMAN_NS:-}" ] && {
        mount -t tmpfs -o mode=0755 kgdp-cdi /run/cdi || fail "tmpfs over /run/cdi"
        if [ -d /etc/cdi ]; then mount -t tmpfs -o mode=0755 kgdp-cdi /etc/cdi || fail "tmpfs over /etc/cdi"; fi
        return 0
    }
    [ "$(id -u)" = 0 ] || skip "not root (a mount namespace and device nodes need root)"
    command -v unshare >/dev/null 2>&1 || skip "unshare is not installed (util-linux)"
    made=
    if [ ! -d /run/cdi ]; then
        mkdir -p /run/cdi || fail "mkdir /run/cdi (mount point)"
        made=1
    fi
    KGDP_PODMAN_NS=1 unshare -m --propagation private sh "$0" "$@"
    rc=$?
    [ -n "$made" ] && rmdir /run/cdi 2>/dev/null
    exit $rc
}

# Check the tools, import kgdp-e2e:busybox; sets P (podman with a temp
# storage root) and RUN (podman run with runc, no network, fixed ulimits).
podman_setup() {
    for t in podman runc; do
        command -v $t >/dev/null 2>&1 || skip "$t is not installed"
    done
    busybox=$(command -v busybox 2>/dev/null) || skip "busybox is not installed (busybox-static)"
    ldd "$busybox" >/dev/null 2>&1 && skip "$busybox is dynamically linked (install busybox-static)"
    mkdir -p "$tmp/rootfs/bin" || fail "mkdir rootfs"
    cp "$busybox" "$tmp/rootfs/bin/busybox" || fail "copy $busybox"
    for a in sh ls cat stat true; do ln -s busybox "$tmp/rootfs/bin/$a"; done
    tar -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" . || fail "tar rootfs"
    P="podman --root $tmp/root --runroot $tmp/run --tmpdir $tmp/libpod --storage-driver vfs"
    P="$P --cgroup-manager cgroupfs --events-backend file"
    $P import -q "$tmp/rootfs.tar" kgdp-e2e:busybox >"$tmp/import.log" 2>&1 ||
        fail "podman import failed: $(cat "$tmp/import.log")"
    RUN="$P run --rm --runtime runc --network none"
    RUN="$RUN --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
    $RUN kgdp-e2e:busybox true >"$tmp/trial.log" 2>&1 ||
        fail "podman cannot run a container: $(cat "$tmp/trial.log")"
}

# Copy dev tree $1 to $2 with every regular file replaced by a character
# device node: major $3, minors from $4 upwards (one per node) or all $4
# when $5 is "same". Prints "path major:minor" lines to $2.nodes.
podman_mknod_tree() {
    cp -r "$1" "$2" || fail "copy $1"
    minor=$4
    : >"$2.nodes"
    find "$2" -type f | sort >"$2.files" || fail "find $2"
    while read -r f; do
        rm -f "$f"
        mknod "$f" c "$3" "$minor" || fail "mknod $f c $3 $minor"
        echo "$f $3:$minor" >>"$2.nodes"
        [ "${5:-}" = same ] || minor=$((minor + 1))
    done <"$2.files"
}

# Unmount what is left under $tmp and remove it.
podman_cleanup() {
    grep -o " $tmp/[^ ]*" /proc/mounts | sort -r | while read -r m; do umount "$m"; done
    rm -rf "$tmp"
}
