#!/bin/sh
# /init of the real-kernel test guest (see realkernel.sh). Everything the
# plugin is checked against is read here from the guest kernel itself.
#
# Roles of the emulated functions (realkernel.sh builds the machine):
#   e1000e 8086:10d3, e1000 8086:100e  ->  GPU      10de:2330 class 0x030200
#   pci-testdev 1b36:0005              ->  NVSwitch 10de:22a3 class 0x068000
# Their vendor, device, class and uevent attribute files are overlaid with
# bind mounts (the uevent file carries the IDs too: PCI_ID, PCI_CLASS);
# groups, /dev/vfio nodes, driver links, NUMA and netlink uevents are the
# kernel's own.
#
# Output goes to the second serial port (/dev/ttyS1) in sections:
#   KGDP-BEGIN <name> ... KGDP-END <name>   (facts, discover, cdi, sim, plugin)
#   KGDP-LOG <line>                          progress, printed by the host
#   KGDP-PICK single=<BDF> shared=<BDF,BDF>  the GPUs the serve checks use
#   KGDP-RESULT PASS|FAIL <summary>          the guest's verdict, last line

export PATH=/usr/bin:/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1

PLUGIN=/usr/bin/kata-gpu-device-plugin
KUBELET=/run/kubelet
CDI_DIR=/run/cdi
WAIT_S=60

log() { echo "KGDP-LOG $*" >&3; }
section() {
    echo "KGDP-BEGIN $1" >&3
    cat "$2" >&3
    echo "KGDP-END $1" >&3
}
finish() {
    echo "KGDP-RESULT $*" >&3
    sync
    poweroff -f
    sleep 10
}
fail() {
    for f in sim plugin; do
        [ -f "/run/$f.log" ] && ! [ -f "/run/$f.sent" ] && section "$f" "/run/$f.log"
    done
    finish "FAIL $*"
}

load_modules() {
    for m in $(cat /lib/modules/load.order); do
        insmod "/lib/modules/$m" 2>/tmp/insmod.err || fail "insmod $m: $(cat /tmp/insmod.err)"
    done
}

role_of() {
    case $1 in
    0x8086:0x10d3 | 0x8086:0x100e) echo gpu ;;
    0x1b36:0x0005) echo nvswitch ;;
    *) echo none ;;
    esac
}

# Overlay one attribute file of $1 (a sysfs device dir) with value $3.
overlay() {
    o="/run/ids/${1##*/}"
    mkdir -p "$o" && echo "$3" >"$o/$2" && mount --bind "$o/$2" "$1/$2" ||
        fail "overlay $1/$2"
}

# The uevent file of $1 with NVIDIA's IDs: the kernel's text, PCI_ID and
# PCI_CLASS rewritten for device $2 and class $3 (read once, after binding:
# its DRIVER= line stays as it is now; the plugin follows the driver link).
overlay_uevent() {
    o="/run/ids/${1##*/}"
    dev=$(echo "${2#0x}" | tr a-f A-F)
    cls=$(printf %04X "$3")
    sed -e "s/^PCI_ID=.*/PCI_ID=10DE:$dev/" -e "s/^PCI_CLASS=.*/PCI_CLASS=$cls/" \
        "$1/uevent" >"$o/uevent" && mount --bind "$o/uevent" "$1/uevent" ||
        fail "overlay $1/uevent"
}

# Give each role function NVIDIA IDs and bind it to vfio-pci.
prepare_functions() {
    : >/run/functions
    for d in /sys/bus/pci/devices/*; do
        role=$(role_of "$(cat "$d/vendor"):$(cat "$d/device")")
        [ "$role" = none ] && continue
        case $role in
        gpu) ids="0x2330 0x030200" ;;
        nvswitch) ids="0x22a3 0x068000" ;;
        esac
        overlay "$d" vendor 0x10de
        overlay "$d" device "${ids% *}"
        overlay "$d" class "${ids#* }"
        echo vfio-pci >"$d/driver_override" || fail "driver_override ${d##*/}"
        echo "${d##*/}" >/sys/bus/pci/drivers_probe
        drv=$(readlink "$d/driver")
        [ "${drv##*/}" = vfio-pci ] || fail "${d##*/} not bound to vfio-pci (driver: ${drv:-none})"
        overlay_uevent "$d" "${ids% *}" "${ids#* }"
        echo "${d##*/} $role" >>/run/functions
    done
    [ -s /run/functions ] || fail "no emulated function found for any role"
}

# The kernel's own view, one fact a line:
#   fn BDF ROLE GROUP NUMA DRIVER      group ID DEVNODE MEMBER...
#   pcie BDF ATTR VALUE                (PCIe attributes as the kernel words
#                                       them, "-" when it shows none)
kernel_facts() {
    : >/run/facts
    : >/run/groups
    while read -r bdf role; do
        d=/sys/bus/pci/devices/$bdf
        g=$(readlink "$d/iommu_group") || fail "$bdf has no iommu_group link"
        g=${g##*/}
        drv=$(readlink "$d/driver")
        echo "fn $bdf $role $g $(cat "$d/numa_node") ${drv##*/}" >>/run/facts
        for a in power_state current_link_width max_link_width reset_method; do
            v=-
            [ -r "$d/$a" ] && v=$(cat "$d/$a" | tr ' ' ',')
            echo "pcie $bdf $a ${v:--}" >>/run/facts
        done
        v=-
        [ -r "$d/aer_dev_fatal" ] && v=$(sed -n 's/^TOTAL_ERR_FATAL //p' "$d/aer_dev_fatal")
        echo "pcie $bdf aer_fatal ${v:--}" >>/run/facts
        grep -qx "$g" /run/groups || echo "$g" >>/run/groups
    done </run/functions
    while read -r g; do
        node=none
        [ -c "/dev/vfio/$g" ] && node="$(stat -c '%t:%T' "/dev/vfio/$g")"
        [ "$node" = none ] && fail "/dev/vfio/$g is not a character device"
        echo "group $g $node $(ls "/sys/kernel/iommu_groups/$g/devices" | tr '\n' ' ')" >>/run/facts
        /usr/bin/vfio-group-status "/dev/vfio/$g" >/run/status 2>&1 ||
            fail "VFIO_GROUP_GET_STATUS: $(cat /run/status)"
        echo "status $g $(sed 's/.* viable=//' /run/status)" >>/run/facts
    done </run/groups
    [ -c /dev/vfio/vfio ] || fail "/dev/vfio/vfio is missing"
    if [ -e /dev/iommu ]; then echo "iommufd yes" >>/run/facts; else echo "iommufd no" >>/run/facts; fi
    echo "kernel $(uname -r)" >>/run/facts
    section facts /run/facts
}

# A GPU in a viable group of its own, and the GPUs of a viable group of two
# or more (viable as VFIO_GROUP_GET_STATUS says).
pick_devices() {
    single=
    shared=
    while read -r g; do
        grep -qx "status $g yes" /run/facts || continue
        gpus=$(awk -v g="$g" '$1 == "fn" && $3 == "gpu" && $4 == g { print $2 }' /run/facts)
        n=$(echo "$gpus" | grep -c .)
        [ "$n" = 1 ] && [ -z "$single" ] && single=$gpus
        [ "$n" -ge 2 ] && [ -z "$shared" ] && shared=$(echo "$gpus" | tr '\n' ',' | sed 's/,$//')
    done </run/groups
    [ -n "$single" ] || fail "no GPU in a viable singleton IOMMU group (machine layout changed?)"
    [ -n "$shared" ] || fail "no viable IOMMU group with two GPUs (machine layout changed?)"
}

# Wait until the last list of pgpu in sim.log shows $1 with health $2.
wait_health() {
    i=0
    while [ $i -lt $((WAIT_S * 10)) ]; do
        last=$(awk -v id="$1" '/^list [0-9]+ nvidia.com\/pgpu:/ { in_list = 1; next }
            /^list / || /^[a-z]/ { in_list = 0 }
            in_list && $1 == id { h = $2 } END { print h }' /run/sim.log)
        [ "$last" = "$2" ] && return 0
        kill -0 "$plugin_pid" 2>/dev/null || fail "the plugin exited while waiting for $1 $2"
        usleep 100000
        i=$((i + 1))
    done
    fail "$1 did not turn $2 within $WAIT_S s of the sysfs change"
}

wait_for_line() {
    i=0
    until grep -q "$1" "$2"; do
        kill -0 "$plugin_pid" 2>/dev/null || fail "the plugin exited early"
        [ $i -ge $((WAIT_S * 10)) ] && fail "no '$1' in ${2##*/} within $WAIT_S s"
        usleep 100000
        i=$((i + 1))
    done
}

# serve with every capability dropped, the kubelet simulator, then a real
# unbind and bind of a singleton GPU; health must follow through uevents
# (no periodic rescan, no SIGHUP).
serve_and_rebind() {
    mkdir -p "$KUBELET" "$CDI_DIR"
    /usr/bin/kubelet-sim --kubelet-dir "$KUBELET" --wait-resources 2 --timeout $WAIT_S \
        --prefer nvidia.com/pgpu=2 --allocate "nvidia.com/pgpu=$single" \
        --allocate "nvidia.com/pgpu=$shared" --watch-until /run/stop >/run/sim.log 2>&1 &
    sim_pid=$!
    /usr/bin/setpriv --bounding-set=-all --inh-caps=-all -- "$PLUGIN" serve --kubelet-dir "$KUBELET" \
        --cdi-dir "$CDI_DIR" --rescan-interval 0 --log-level debug >/run/plugin.log 2>&1 &
    plugin_pid=$!
    wait_for_line '^watching ' /run/sim.log
    grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' "/proc/$plugin_pid/status" >/run/caps
    section caps /run/caps
    grep -E '^Cap(Prm|Eff|Bnd):' /run/caps | grep -qv '0000000000000000$' &&
        fail "the plugin kept capabilities: $(tr '\n' ' ' </run/caps)"
    d=/sys/bus/pci/devices/$single
    log "unbind $single from vfio-pci"
    echo "$single" >"$d/driver/unbind" || fail "unbind $single"
    wait_health "$single" Unhealthy
    [ -e "$d/driver" ] && fail "$single still has a driver after unbind"
    log "$single Unhealthy; bind it to vfio-pci again"
    echo "$single" >/sys/bus/pci/drivers/vfio-pci/bind || fail "bind $single"
    wait_health "$single" Healthy
    touch /run/stop
    wait $sim_pid
    sim_rc=$?
    kill -TERM "$plugin_pid"
    wait "$plugin_pid"
    plugin_rc=$?
    section sim /run/sim.log
    section plugin /run/plugin.log
    touch /run/sim.sent /run/plugin.sent
    [ $sim_rc = 0 ] || fail "kubelet-sim exit $sim_rc"
    [ $plugin_rc = 0 ] || fail "plugin exit $plugin_rc after SIGTERM"
    grep -q SIGHUP /run/plugin.log && fail "the plugin log mentions SIGHUP"
    [ -s "$CDI_DIR/kata-gpu-device-plugin_nvidia.com-pgpu.json" ] ||
        fail "serve wrote no pgpu CDI spec into $CDI_DIR"
}

load_modules
log "kernel $(uname -r) up, vfio modules loaded"
prepare_functions
kernel_facts
pick_devices
echo "KGDP-PICK single=$single shared=$shared" >&3
"$PLUGIN" discover --format json >/run/discover.json 2>/run/discover.err ||
    fail "discover: $(cat /run/discover.err)"
section discover /run/discover.json
"$PLUGIN" cdi --output - >/run/cdi.json 2>/run/cdi.err || fail "cdi: $(cat /run/cdi.err)"
section cdi /run/cdi.json
serve_and_rebind
finish "PASS single=$single shared=$shared"
