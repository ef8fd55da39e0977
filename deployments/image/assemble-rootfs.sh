#!/bin/sh
# Assemble the root filesystem of the runtime image: the plugin binary, the
# shared libraries the dynamic loader really maps for it (ldd), and pci.ids
# (gzip-compressed: libpci reads pci.ids.gz first). Nothing else: no shell,
# no package manager. The same files make the FROM scratch image here (no
# base image can be pulled) and in deployments/image/Containerfile.debian12.
#
# usage: assemble-rootfs.sh BINARY OUTDIR
set -eu

bin=${1:?usage: assemble-rootfs.sh BINARY OUTDIR}
out=${2:?usage: assemble-rootfs.sh BINARY OUTDIR}
ids_dir=$(pkg-config --variable=idsdir libpci 2>/dev/null || echo /usr/share/misc)

[ -x "$bin" ] || { echo "assemble-rootfs: $bin is not an executable" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/$ids_dir" "$out/tmp"
chmod 1777 "$out/tmp"
# Debug info stays in the build tree; the image gets the stripped binary.
objcopy --strip-all "$bin" "$out/usr/bin/kata-gpu-device-plugin"

# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for
# the loader; vdso has no file. Copy each under its own path (the loader
# by the path compiled into the binary) with symlinks resolved.
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    sort -u >"$out.libs"
[ -s "$out.libs" ] || { echo "assemble-rootfs: ldd listed no libraries for $bin" >&2; exit 1; }
while read -r lib; do
    mkdir -p "$out/${lib%/*}"
    cp -L "$lib" "$out/$lib"
    strip --strip-unneeded "$out/$lib" 2>/dev/null || true
done <"$out.libs"
rm -f "$out.libs"

if [ -f "$ids_dir/pci.ids.gz" ]; then
    cp "$ids_dir/pci.ids.gz" "$out/$ids_dir/pci.ids.gz"
elif [ -f "$ids_dir/pci.ids" ]; then
    gzip -9n <"$ids_dir/pci.ids" >"$out/$ids_dir/pci.ids.gz"
else
    echo "assemble-rootfs: no pci.ids in $ids_dir (install pci.ids)" >&2
    exit 1
fi
