#!/usr/bin/python3
"""Check what the plugin reported in the real-kernel guest against what the
guest kernel itself reported (the "facts" section written by guest-init.sh
from sysfs, /dev and VFIO_GROUP_GET_STATUS).

usage: check.py RESULTS  ->  prints one summary line, exit 0; or FAIL lines
and exit 1.
"""
import json
import re
import sys

GPU_RES = "nvidia.com/pgpu"
SWITCH_RES = "nvidia.com/nvswitch"
ROLE_RES = {"gpu": GPU_RES, "nvswitch": SWITCH_RES}
ROLE_KIND = {"gpu": "gpu", "nvswitch": "nvswitch"}

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def sections(text):
    out, name, buf = {}, None, []
    for line in text.splitlines():
        if name is None and line.startswith("KGDP-BEGIN "):
            name, buf = line[len("KGDP-BEGIN "):], []
        elif name is not None and line == "KGDP-END " + name:
            out[name] = "\n".join(buf) + "\n"
            name = None
        elif name is not None:
            buf.append(line)
    return out


def parse_facts(text):
    fns, groups = {}, {}
    iommufd = None
    for line in text.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "fn":
            fns[w[1]] = {"role": w[2], "group": int(w[3]), "numa": int(w[4]), "driver": w[5],
                         "pcie": {}}
        elif w[0] == "pcie" and w[1] in fns:
            fns[w[1]]["pcie"][w[2]] = None if w[3] == "-" else w[3].replace(",", " ")
        elif w[0] == "group":
            groups.setdefault(int(w[1]), {}).update(node=w[2], members=sorted(w[3:]))
        elif w[0] == "status":
            groups.setdefault(int(w[1]), {})["viable"] = w[2] == "yes"
        elif w[0] == "iommufd":
            iommufd = w[1]
    return fns, groups, iommufd


def json_stream(text):
    dec, i, out = json.JSONDecoder(), 0, []
    text = text.strip()
    while i < len(text):
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def check_pcie(bdf, p, kernel):
    """discover's PCIe facts of a GPU/NVSwitch are what the kernel shows."""
    if not kernel:  # companions carry none
        return
    if not check(isinstance(p, dict), f"discover: {bdf} has no pcie facts"):
        return
    power = kernel.get("power_state")
    check(p["powerState"] == (power if power not in (None, "unknown", "error") else None),
          f"discover: {bdf} powerState {p['powerState']!r}, kernel {power!r}")
    for attr, key in (("current_link_width", "linkWidth"), ("max_link_width", "maxLinkWidth")):
        v = kernel.get(attr)
        want = int(v) if v and v.isdigit() and int(v) > 0 else None
        check(p[key] == want, f"discover: {bdf} {key} {p[key]!r}, kernel {v!r}")
    reset = kernel.get("reset_method")
    want = reset if reset else ("" if power else None)
    check(p["resetMethod"] == want, f"discover: {bdf} resetMethod {p['resetMethod']!r}, kernel {reset!r}")
    fatal = kernel.get("aer_fatal")
    check(p["aerFatal"] == (int(fatal) if fatal else None),
          f"discover: {bdf} aerFatal {p['aerFatal']!r}, kernel {fatal!r}")
    check(p["configSpace"] == "ok" or power == "D3cold",
          f"discover: {bdf} configSpace {p['configSpace']!r} on a live device")


def check_discover(disc, fns, groups):
    check(disc.get("iommu") == "legacy", f"discover: iommu {disc.get('iommu')!r}, kernel has no iommufd")
    ours = {f["bdf"]: f for f in disc["functions"] if f.get("vendor") == "10de"}
    check(sorted(ours) == sorted(fns), f"discover: NVIDIA functions {sorted(ours)}, kernel {sorted(fns)}")
    for bdf, fact in fns.items():
        f = ours.get(bdf)
        if not f:
            continue
        numa = None if fact["numa"] < 0 else fact["numa"]
        check(f["kind"] == ROLE_KIND[fact["role"]], f"discover: {bdf} kind {f['kind']}")
        check(f["iommuGroup"] == fact["group"], f"discover: {bdf} group {f['iommuGroup']}, kernel {fact['group']}")
        check(f["numaNode"] == numa, f"discover: {bdf} NUMA {f['numaNode']}, kernel {numa}")
        check(f["driver"] == fact["driver"], f"discover: {bdf} driver {f['driver']}, kernel {fact['driver']}")
        check(f["vfio"] is True, f"discover: {bdf} not seen as VFIO-bound")
        viable = groups[fact["group"]]["viable"]
        check(f["assignable"] == viable,
              f"discover: {bdf} assignable={f['assignable']}, but the kernel says group "
              f"{fact['group']} viable={viable} ({f.get('reason')})")
        check_pcie(bdf, f.get("pcie"), fact["pcie"])
    dgroups = {g["id"]: g for g in disc["groups"]}
    for gid, fact in groups.items():
        g = dgroups.get(gid)
        if not check(g is not None, f"discover: group {gid} missing"):
            continue
        check(sorted(g["members"]) == fact["members"],
              f"discover: group {gid} members {g['members']}, kernel {fact['members']}")
        check(g["devNode"] is True, f"discover: group {gid}: /dev/vfio/{gid} not seen")
        check(g["viable"] == fact["viable"],
              f"discover: group {gid} viable={g['viable']}, VFIO_GROUP_GET_STATUS says {fact['viable']}")


def check_cdi(specs, fns):
    by_kind = {s["kind"]: s for s in specs}
    for role, res in ROLE_RES.items():
        want = {b: f for b, f in fns.items() if f["role"] == role}
        spec = by_kind.get(res)
        if not check(spec is not None, f"cdi: no spec for {res}"):
            continue
        check(spec["cdiVersion"] == "0.5.0", f"cdi: {res} cdiVersion {spec['cdiVersion']}")
        devs = {d["name"]: d for d in spec["devices"]}
        check(sorted(devs) == sorted(want), f"cdi: {res} devices {sorted(devs)}, kernel {sorted(want)}")
        for bdf, fact in want.items():
            if bdf not in devs:
                continue
            nodes = sorted((n["path"], n.get("hostPath")) for n in devs[bdf]["containerEdits"]["deviceNodes"])
            g = f"/dev/vfio/{fact['group']}"
            check(nodes == sorted([(g, g), ("/dev/vfio/vfio", "/dev/vfio/vfio")]),
                  f"cdi: {bdf} nodes {nodes}, kernel group node {g}")


LIST_RE = re.compile(r"^(?:list \d+ )?(\S+): \d+ device\(s\)$")


def parse_sim(text):
    """Lists in order as (resource, {id: (health, numa)}), the rest as lines."""
    lists, cur, other = [], None, []
    for line in text.splitlines():
        m = LIST_RE.match(line)
        if m:
            cur = (m.group(1), {}, line.startswith("list "))
            lists.append(cur)
            continue
        if cur and line.startswith("  ") and "numa=" in line:
            w = line.split()
            cur[1][w[0]] = (w[1], w[2][len("numa="):])
            continue
        cur = None
        other.append(line)
    return lists, other


def expected_list(fns, groups, role):
    return {b: ("Healthy" if groups[f["group"]]["viable"] else "Unhealthy",
                "-" if f["numa"] < 0 else str(f["numa"]))
            for b, f in fns.items() if f["role"] == role}


def allocations(text):
    """{ids tuple: set of (host, container, perms)} from kubelet-sim output."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith(f"allocate {GPU_RES}: "):
            cur = tuple(line.split(": ", 1)[1].split())
            out[cur] = set()
        elif cur and line.startswith("  device "):
            m = re.match(r"  device (\S+) -> (\S+) \((\w+)\)$", line)
            out[cur].add((m.group(1), m.group(2), "".join(sorted(m.group(3)))))
        elif not line.startswith("  "):
            cur = None
    return out


def check_serve(sim, fns, groups, single, shared):
    lists, other = parse_sim(sim)
    first = {res: ids for res, ids, upd in lists if not upd}
    for role, res in ROLE_RES.items():
        want = expected_list(fns, groups, role)
        check(first.get(res) == want, f"serve: first {res} list {first.get(res)}, kernel says {want}")
    want_gpus = expected_list(fns, groups, "gpu")
    updates = [ids for res, ids, upd in lists if upd and res == GPU_RES]
    down = dict(want_gpus)
    down[single] = ("Unhealthy", want_gpus[single][1])
    check(down in updates, f"serve: no {GPU_RES} list with only {single} Unhealthy after unbind: {updates}")
    if down in updates:
        after = updates[updates.index(down) + 1:]
        check(want_gpus in after, f"serve: {single} not Healthy again after bind: {after}")
    allocs = allocations(sim)
    for ids in ((single,), tuple(shared.split(","))):
        g = f"/dev/vfio/{fns[ids[0]]['group']}"
        want = {(g, g, "mrw"), ("/dev/vfio/vfio", "/dev/vfio/vfio", "mrw")}
        check(allocs.get(ids) == want, f"serve: Allocate {ids} device specs {allocs.get(ids)}, want {want}")
    prefer = [l for l in other if l.startswith(f"preferred {GPU_RES} x2:")]
    check(len(prefer) == 1, "serve: no preferred allocation of 2 GPUs")
    got = sorted(prefer[0].split(":", 1)[1].split()) if prefer else []
    # Two GPUs that share a viable group go together: the kernel's pairs.
    pairs = [sorted(b for b, f in fns.items() if f["role"] == "gpu" and f["group"] == g)
             for g, fact in groups.items() if fact["viable"]]
    pairs = [p for p in pairs if len(p) == 2]
    check(pairs and got in pairs, f"serve: preferred x2 {got}, not a viable shared group {pairs}")
    return got


def check_caps(text):
    caps = dict(l.split(":\t") for l in text.splitlines() if ":\t" in l)
    for k in ("CapPrm", "CapEff", "CapBnd"):
        check(caps.get(k) == "0000000000000000", f"serve ran with {k}={caps.get(k)}")


def main():
    text = open(sys.argv[1]).read()
    sec = sections(text)
    verdict = [l for l in text.splitlines() if l.startswith("KGDP-RESULT ")]
    verdict = verdict[-1] if verdict else "KGDP-RESULT FAIL no verdict"
    check(verdict.startswith("KGDP-RESULT PASS"), f"guest: {verdict[len('KGDP-RESULT '):]}")
    pick = [l for l in text.splitlines() if l.startswith("KGDP-PICK ")]
    m = re.match(r"KGDP-PICK single=(\S+) shared=(\S+)$", pick[-1] if pick else "")
    check(m is not None, "the guest picked no GPUs for the serve checks")
    # Whatever the guest sent is checked, so that a failing run says all
    # that disagrees with the kernel.
    preferred = []
    if check("facts" in sec, "the guest sent no facts"):
        fns, groups, iommufd = parse_facts(sec["facts"])
        check(iommufd == "no", "the guest kernel has /dev/iommu: this test covers legacy VFIO only")
        for name in ("discover", "cdi", "sim", "caps"):
            check(name in sec, f"the guest sent no {name} section")
        if "discover" in sec:
            check_discover(json.loads(sec["discover"]), fns, groups)
        if "cdi" in sec:
            check_cdi(json_stream(sec["cdi"]), fns)
        if "sim" in sec and m:
            preferred = check_serve(sec["sim"], fns, groups, m.group(1), m.group(2))
        if "caps" in sec:
            check_caps(sec["caps"])
    if failures:
        for f in failures:
            print(f"FAIL: {f}")
        return 1
    shared_groups = sum(1 for g in groups.values() if len(g["members"]) > 1)
    unviable = sum(1 for g in groups.values() if not g["viable"])
    numas = sorted({f["numa"] for f in fns.values()})
    print(f"{len(fns)} functions in {len(groups)} IOMMU groups ({shared_groups} shared behind PCI "
          f"bridges, {unviable} not viable per VFIO_GROUP_GET_STATUS), NUMA {numas}: discover, cdi "
          f"and serve (no capabilities) match the kernel; unbind/bind of {m.group(1)} turned it "
          f"Unhealthy and Healthy through uevents; preferred x2: {','.join(preferred)} (the viable "
          f"shared group)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
