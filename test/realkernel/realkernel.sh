#!/bin/sh
# The plugin against a real kernel's VFIO: Debian's kernel boots in
# qemu-system-x86_64 (TCG, q35, emulated Intel IOMMU) from an initramfs
# built here (busybox-static, the plugin, the C kubelet simulator, setpriv,
# the libraries ldd lists, the vfio modules) and runs guest-init.sh, which
# binds emulated PCIe functions to vfio-pci and checks discover, cdi and
# serve against what the guest kernel itself reports.
#
# Env (set by make): KGDP_BIN, KGDP_SIM, KGDP_VFIO_STATUS, KGDP_BUILD.
# Optional: KGDP_REALKERNEL_TIMEOUT (seconds, default 420) bounds the boot;
# KGDP_REALKERNEL_KEEP=1 keeps the work directory.
# Exit: 0 pass, 1 failed. The guest's `discover --format json` output is
# saved as $KGDP_BUILD/realkernel/discover.json, its console as console.log.

set -u
start=$(date +%s)
fail() { echo "FAIL: realkernel: $*"; exit 1; }

: "${KGDP_BIN:?KGDP_BIN is not set (run through make)}"
: "${KGDP_SIM:?KGDP_SIM is not set (run through make)}"
: "${KGDP_BUILD:?KGDP_BUILD is not set (run through make)}"
: "${KGDP_VFIO_STATUS:?KGDP_VFIO_STATUS is not set (run through make)}"
here=$(cd "$(dirname "$0")" && pwd)
cache="$KGDP_BUILD/realkernel"
limit=${KGDP_REALKERNEL_TIMEOUT:-420}

for tool in qemu-system-x86_64 busybox setpriv cpio modinfo dpkg-deb apt-get timeout; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (scripts/install-deps.sh)"
done
busybox=$(command -v busybox)
ldd "$busybox" >/dev/null 2>&1 && fail "$busybox is dynamically linked (install busybox-static)"
mkdir -p "$cache/kernel" || fail "mkdir $cache/kernel"

# Debian's current kernel image package, downloaded once into the cache.
kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# apt-get download $1 into the cache (a stale package list names a version
# the mirror no longer has: the caller updates the lists and retries).
download() {
    (cd "$cache/kernel" && apt-get download -q "$1") >"$work/download.log" 2>&1
}

# The kit: vmlinuz, kver, and mods/ with the modules in load order
# (mods/load.order); kept in the cache, the rest of the package is not.
fetch_kernel() {
    pkg=$(kernel_pkg)
    if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
        apt-get update -qq >/dev/null 2>&1
        pkg=$(kernel_pkg)
    fi
    [ -n "$pkg" ] || fail "apt-cache cannot resolve linux-image-amd64 (run apt-get update)"
    kit="$cache/kernel/$pkg"
    if [ ! -f "$kit/.done" ]; then
        rm -rf "$kit" && mkdir -p "$kit/mods" || fail "mkdir $kit"
        if ! ls "$cache/kernel/$pkg"_*.deb >/dev/null 2>&1; then
            download "$pkg" || { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 &&
                pkg=$(kernel_pkg) && kit="$cache/kernel/$pkg" && mkdir -p "$kit/mods" &&
                download "$pkg"; } ||
                fail "apt-get download $pkg: $(tail -n 3 "$work/download.log")"
        fi
        deb=$(ls "$cache/kernel/$pkg"_*.deb | tail -n 1)
        dpkg-deb -x "$deb" "$work/pkg" || fail "dpkg-deb -x $deb"
        cp "$(ls "$work"/pkg/boot/vmlinuz-* | head -n 1)" "$kit/vmlinuz" || fail "no vmlinuz in $pkg"
        moddir=$(ls -d "$work"/pkg/lib/modules/* | head -n 1)
        echo "${moddir##*/}" >"$kit/kver"
        for m in $MODS; do
            add_module "$m"
        done
        rm -rf "$work/pkg"
        touch "$kit/.done"
    fi
    kver=$(cat "$kit/kver")
}

# Modules in load order: dependencies (modinfo -F depends) first.
MODS="irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci"
find_module() {
    [ -f "$work/modlist" ] || find "$moddir/kernel" -name "*.ko*" >"$work/modlist"
    awk -v want="$1" 'BEGIN { gsub("_", "-", want) }
        { b = $0; sub(".*/", "", b); sub("[.]ko.*", "", b); gsub("_", "-", b) }
        b == want { print; exit }' "$work/modlist"
}
add_module() {
    grep -qx "$1" "$work/mods.seen" 2>/dev/null && return 0
    echo "$1" >>"$work/mods.seen"
    f=$(find_module "$1")
    [ -n "$f" ] || fail "module $1 not in ${moddir##*/}"
    for d in $(modinfo -F depends "$f" | tr ',' ' '); do
        add_module "$d"
    done
    case $f in
    *.ko) ;;
    *) fail "compressed module $f (not supported)" ;;
    esac
    cp "$f" "$kit/mods/" || fail "copy $f"
    echo "${f##*/}" >>"$kit/mods/load.order"
}

# A binary and every library ldd lists for it, at the same paths. (The
# loop runs in the pipeline's subshell: its exit status carries a failure.)
add_binary() {
    install -D -m 0755 "$1" "$root/usr/bin/${2:-${1##*/}}" || fail "copy $1"
    ldd "$1" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | while read -r lib; do
        [ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib" || exit 1
    done || fail "copy the libraries of $1 (ldd $1)"
}

build_initramfs() {
    root="$work/root"
    mkdir -p "$root/bin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" \
        "$root/tmp" "$root/run" "$root/var" "$root/etc" || fail "mkdir $root"
    cp "$busybox" "$root/bin/busybox" || fail "copy busybox"
    ln -s busybox "$root/bin/sh"
    add_binary "$KGDP_BIN" kata-gpu-device-plugin
    add_binary "$KGDP_SIM" kubelet-sim
    add_binary "$KGDP_VFIO_STATUS" vfio-group-status
    add_binary "$(command -v setpriv)" setpriv
    cp "$kit"/mods/* "$root/lib/modules/" || fail "copy modules"
    install -m 0755 "$here/guest-init.sh" "$root/init" || fail "copy guest-init.sh"
    (cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initramfs.cpio" ||
        fail "cpio"
}

# The guest's PCI topology (see guest-init.sh for the roles):
#   pcie.0 > root port rp1 > e1000e            singleton group, no NUMA node
#   pcie.0 > root port rp2 > pci-testdev       singleton group (NVSwitch)
#   pxb-pcie NUMA 0 > rp3 > e1000e             singleton group, NUMA 0
#   pxb-pcie NUMA 0 > rp4 > pci-bridge (no SHPC, so no driver) > 2 x e1000
#                                              one viable group with the bridge
#   pxb-pcie NUMA 1 > rp5 > e1000e             singleton group, NUMA 1
#   pxb-pcie NUMA 1 > rp6 > pcie-pci-bridge (SHPC: shpchp binds it) > 2 x e1000
#                                              one group the kernel will not
#                                              let VFIO use (a DMA-API driver
#                                              holds a member)
run_qemu() {
    set -- -nodefaults -nographic -no-reboot -monitor none -display none \
        -accel tcg -machine q35,kernel-irqchip=split -cpu max \
        -device intel-iommu,intremap=on \
        -m 512M -smp 2 \
        -object memory-backend-ram,id=m0,size=256M -object memory-backend-ram,id=m1,size=256M \
        -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
        -device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1,addr=0x10 \
        -device e1000e,bus=rp1 \
        -device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2,addr=0x11 \
        -device pci-testdev,bus=rp2 \
        -device pxb-pcie,id=pxb0,bus=pcie.0,bus_nr=0x20,numa_node=0,addr=0x1b \
        -device pcie-root-port,id=rp3,bus=pxb0,chassis=3,slot=3,addr=0x0 \
        -device e1000e,bus=rp3 \
        -device pcie-root-port,id=rp4,bus=pxb0,chassis=4,slot=4,addr=0x1 \
        -device pci-bridge,id=br0,bus=rp4,chassis_nr=7,shpc=off \
        -device e1000,bus=br0,addr=0x1 \
        -device e1000,bus=br0,addr=0x2 \
        -device pxb-pcie,id=pxb1,bus=pcie.0,bus_nr=0x40,numa_node=1,addr=0x1c \
        -device pcie-root-port,id=rp5,bus=pxb1,chassis=5,slot=5,addr=0x0 \
        -device e1000e,bus=rp5 \
        -device pcie-root-port,id=rp6,bus=pxb1,chassis=6,slot=6,addr=0x1 \
        -device pcie-pci-bridge,id=br1,bus=rp6 \
        -device e1000,bus=br1,addr=0x1 \
        -device e1000,bus=br1,addr=0x2 \
        -kernel "$kit/vmlinuz" -initrd "$work/initramfs.cpio" \
        -append "console=ttyS0 intel_iommu=on iommu=pt panic=-1 loglevel=4" \
        -serial "file:$cache/console.log" -serial "file:$work/results.txt"
    timeout -k 5 "$limit" qemu-system-x86_64 "$@" >"$work/qemu.log" 2>&1
}

work=$(mktemp -d /tmp/kgdp-realkernel-XXXXXX) || fail "mktemp"
cleanup() { [ "${KGDP_REALKERNEL_KEEP:-}" = 1 ] && echo "kept $work" || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

fetch_kernel
build_initramfs
rm -f "$cache/discover.json" "$cache/console.log"
run_qemu
rc=$?
[ $rc = 124 ] && fail "guest did not finish within $limit s (console: $cache/console.log)"
[ -s "$work/results.txt" ] || fail "no results from the guest (qemu exit $rc: $(tail -n 3 "$work/qemu.log"))"
tr -d '\r' <"$work/results.txt" >"$cache/results.txt"
sed -n '/^KGDP-BEGIN discover$/,/^KGDP-END discover$/p' "$cache/results.txt" |
    sed '1d;$d' >"$cache/discover.json"
summary=$(/usr/bin/python3 "$here/check.py" "$cache/results.txt")
check_rc=$?
elapsed=$(($(date +%s) - start))
if [ $check_rc != 0 ]; then
    sed -n '/^KGDP-LOG /s/^KGDP-LOG /guest: /p' "$cache/results.txt"
    echo "$summary"
    fail "the plugin disagrees with the guest kernel (console: $cache/console.log, results: $cache/results.txt, ${elapsed} s)"
fi
echo "PASS: realkernel: Debian kernel $kver in QEMU (TCG, q35, emulated VT-d): $summary; legacy VFIO only (Debian 12's kernel has no iommufd); ${elapsed} s"
