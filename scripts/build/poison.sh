#!/bin/sh
# Usage: poison.sh OUTDIR GROUP...
# Writes, under OUTDIR, a header for every header of each third-party
# GROUP (grpc, protobuf-c, json-c, pci, numa, microhttpd, cunit) that
# stops the compiler with a clear message. A layer is compiled with
# -IOUTDIR first, so an include of a library it must not use fails to
# compile instead of silently working (the system dirs would find it).
set -eu
out=$1
shift
multi=$(${CC:-gcc} -print-multiarch 2>/dev/null || true)
rm -rf "$out"
mkdir -p "$out"
for group in "$@"; do
    case $group in
    grpc) pats="grpc/" ;;
    protobuf-c) pats="protobuf-c/" ;;
    json-c) pats="json-c/" ;;
    pci) pats="pci/" ;;
    numa) pats="numa.h numaif.h numacompat1.h" ;;
    microhttpd) pats="microhttpd.h" ;;
    cunit) pats="CUnit/" ;;
    *) echo "poison.sh: unknown group $group" >&2; exit 2 ;;
    esac
    for root in /usr/include "/usr/include/$multi"; do
        for p in $pats; do
            [ -e "$root/$p" ] || continue
            find "$root/$p" -name '*.h' | while read -r h; do
                rel=${h#"$root"/}
                mkdir -p "$out/$(dirname "$rel")"
                printf '#error "<%s> (%s) is not allowed in this layer: see scripts/build/layers.mk"\n' \
                    "$rel" "$group" > "$out/$rel"
            done
        done
    done
done
touch "$out/.stamp"
