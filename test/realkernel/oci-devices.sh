#!/bin/sh
# Allocate's DeviceSpecs through a real OCI runtime: the plugin serves a
# fixture host whose dev tree is made of real character nodes (distinct
# numbers), the C kubelet simulator calls Allocate, and podman 4.3 + runc
# start a busybox container with exactly those specs (--device
# HOST:CONTAINER:PERMS, what the kubelet hands the runtime through the CRI).
# Inside the container every container path must be a character device
# with the host node's numbers, /dev/vfio must hold nothing else, and the
# devices cgroup must let those nodes through and no other: opening one
# reaches the kernel's "no driver" (ENXIO, major 240 has none), opening
# another node of the host's tree bind-mounted in is refused (EPERM). This
# holds with cgroup v1 and v2 (runc's eBPF filter); on v1 the cgroup's
# devices.list must also allow exactly those nodes with those permissions.
#
# Env: KGDP_BIN, KGDP_SIM, KGDP_FIXTURES, KGDP_SRCDIR (set by make);
# KGDP_OCI_FIXTURE (default hgx-h200-legacy). Exit: 0 pass, 77 skipped
# (never under CI=true), 1 failed.

set -u
start=$(date +%s)
: "${KGDP_BIN:?KGDP_BIN is not set (run through make)}"
: "${KGDP_SIM:?KGDP_SIM is not set (run through make)}"
: "${KGDP_FIXTURES:?KGDP_FIXTURES is not set (run through make)}"
test_name=oci-devices
. "${KGDP_SRCDIR:-.}/test/support/podman.sh"
podman_enter_ns "$@"

fixture=${KGDP_OCI_FIXTURE:-hgx-h200-legacy}
fx="$KGDP_FIXTURES/$fixture"
[ -d "$fx/sys" ] || fail "fixture $fx missing"
tmp=$(mktemp -d /tmp/kgdp-oci-XXXXXX) || fail "mktemp"
plugin_pid=
stop_plugin() {
    [ -n "$plugin_pid" ] && kill "$plugin_pid" 2>/dev/null && wait "$plugin_pid"
    plugin_pid=
}
trap 'stop_plugin; podman_cleanup' EXIT
trap 'exit 1' INT TERM

MAJOR=240 # "local/experimental use": no real driver behind these nodes
podman_mknod_tree "$fx/dev" "$tmp/dev" $MAJOR 0
podman_setup

# The first GPU alone, and every NVSwitch (one shared group on this host).
"$KGDP_BIN" cdi --sysfs-root "$fx/sys" --dev-root "$tmp/dev" --output - >"$tmp/cdi.json" 2>"$tmp/cdi.err" ||
    fail "cdi: $(cat "$tmp/cdi.err")"
/usr/bin/python3 -c '
import json, sys
text, dec, i, ids = open(sys.argv[1]).read().strip(), json.JSONDecoder(), 0, {}
while i < len(text):
    spec, i = dec.raw_decode(text, i)
    while i < len(text) and text[i].isspace():
        i += 1
    ids[spec["kind"]] = [d["name"] for d in spec["devices"]]
print("nvidia.com/pgpu=" + ids["nvidia.com/pgpu"][0])
print("nvidia.com/nvswitch=" + ",".join(ids["nvidia.com/nvswitch"]))
' "$tmp/cdi.json" >"$tmp/requests" || fail "no pgpu or nvswitch devices in the cdi output"

mkdir -p "$tmp/kubelet" "$tmp/cdi" || fail "mkdir"
set --
while read -r req; do set -- "$@" --allocate "$req"; done <"$tmp/requests"
"$KGDP_SIM" --kubelet-dir "$tmp/kubelet" --wait-resources 2 --timeout 30 "$@" >"$tmp/sim.log" 2>&1 &
sim_pid=$!
"$KGDP_BIN" serve --sysfs-root "$fx/sys" --dev-root "$tmp/dev" --kubelet-dir "$tmp/kubelet" \
    --cdi-dir "$tmp/cdi" --rescan-interval 0 >"$tmp/plugin.log" 2>&1 &
plugin_pid=$!
wait $sim_pid || fail "kubelet-sim failed: $(cat "$tmp/sim.log")"
stop_plugin

# One container per Allocate answer, with its DeviceSpecs and nothing else.
awk '/^allocate / { n++ } /^  device / && n { print n, $2, $4, $5 }' "$tmp/sim.log" |
    tr -d '()' >"$tmp/specs"
[ "$(cut -d' ' -f1 "$tmp/specs" | sort -u | wc -l)" = "$(wc -l <"$tmp/requests")" ] ||
    fail "not one Allocate answer with device specs per request: $(cat "$tmp/sim.log")"
checked=0
for n in $(cut -d' ' -f1 "$tmp/specs" | sort -u); do
    set --
    script="ls /dev/vfio; cat /sys/fs/cgroup/devices/devices.list 2>/dev/null || echo 'no devices.list'"
    : >"$tmp/hosts.$n"
    while read -r k host ctr perms; do
        [ "$k" = "$n" ] || continue
        case $host in "$tmp/dev/"*) ;; *) fail "host path $host is outside the dev root" ;; esac
        set -- "$@" --device "$host:$ctr:$perms"
        echo "$host" >>"$tmp/hosts.$n"
        script="stat -c '%n %F %t:%T' $ctr; echo \"open $ctr: \$(cat $ctr 2>&1 >/dev/null)\"; $script"
    done <"$tmp/specs"
    # A node of the host's tree that this answer does not grant.
    other=$(cut -d' ' -f1 "$tmp/dev.nodes" | grep -vxF -f "$tmp/hosts.$n" | head -n 1)
    [ -n "$other" ] || fail "no node outside Allocate #$n to check the cgroup with"
    set -- "$@" -v "$other:/kgdp-other:ro,dev"
    script="echo \"open /kgdp-other: \$(cat /kgdp-other 2>&1 >/dev/null)\"; $script"
    $RUN "$@" kgdp-e2e:busybox sh -c "$script" >"$tmp/out.$n" 2>&1 ||
        fail "podman run $*: $(cat "$tmp/out.$n")"
    /usr/bin/python3 - "$tmp/specs" "$n" "$tmp/dev.nodes" "$tmp/out.$n" <<'EOF' || exit 1
import sys
specs, n, nodes_file, out_file = sys.argv[1:]
nodes = dict(l.split() for l in open(nodes_file))
out = open(out_file).read().splitlines()
want = [l.split()[1:] for l in open(specs) if l.split()[0] == n]
bad = []
stat = {l.split()[0]: l for l in out if " character special file " in l or " regular " in l}
opened = dict(l[len("open "):].split(": ", 1) for l in out if l.startswith("open "))
v1 = "no devices.list" not in out
allowed = {l.split()[1]: l.split()[2] for l in out if l.startswith("c 240:")}
listed = {l for l in out if l and not l.startswith(("/", "b ", "c ", "a ", "open ", "no devices.list"))}
for host, ctr, perms in want:
    major, minor = nodes[host].split(":")
    line = stat.get(ctr, "")
    if not line.endswith(f"character special file {int(major):x}:{int(minor):x}"):
        bad.append(f"{ctr}: {line or 'missing'}, want char {major}:{minor} ({host})")
    if "No such device or address" not in opened.get(ctr, ""):
        bad.append(f"open {ctr}: {opened.get(ctr)!r}, want ENXIO (the cgroup lets it through)")
    got = allowed.pop(f"{major}:{minor}", None)
    if v1 and (got is None or sorted(got) != sorted(perms)):
        bad.append(f"devices cgroup: {major}:{minor} allowed {got!r}, want {perms!r}")
if "Operation not permitted" not in opened.get("/kgdp-other", ""):
    bad.append(f"open of a node not in the specs: {opened.get('/kgdp-other')!r}, want EPERM")
if allowed:
    bad.append(f"devices cgroup allows nodes not in the specs: {allowed}")
names = sorted(c.rsplit("/", 1)[1] for _, c, _ in want if c.startswith("/dev/vfio/"))
if sorted(listed) != names:
    bad.append(f"/dev/vfio holds {sorted(listed)}, want {names}")
for b in bad:
    print(f"FAIL: oci-devices: Allocate #{n}: {b}")
sys.exit(1 if bad else 0)
EOF
    checked=$((checked + $(grep -c "^$n " "$tmp/specs")))
    cgroup="v2, by opening them and another node"
    grep -q '^c 240:' "$tmp/out.$n" && cgroup="v1: devices.list and opening them and another node"
done
echo "PASS: $test_name: podman 4.3 + runc ran $(wc -l <"$tmp/requests") containers with exactly the DeviceSpecs Allocate returned ($checked nodes, $fixture: $(tr '\n' ' ' <"$tmp/requests")): char nodes with the host's numbers, nothing else in /dev/vfio, the devices cgroup ($cgroup) lets exactly them through; $(($(date +%s) - start)) s"
