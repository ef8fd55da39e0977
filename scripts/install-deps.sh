#!/bin/sh
# Install the Debian packages the build, tests and demo need.
# Idempotent and silent when everything is already present.
# --build: only what building the daemon needs (the image's builder stage).
set -eu

PKGS="build-essential pkg-config make git \
libgrpc-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler \
libpci-dev pci.ids libnuma-dev libjson-c-dev libcunit1-dev \
python3 valgrind golang-go golang-google-grpc-dev \
golang-github-container-orchestrated-devices-container-device-interface-dev \
cppcheck clang-tidy clang-14 libclang-rt-14-dev \
podman runc busybox-static containerd qemu-system-x86 util-linux cpio kmod \
yamllint prometheus libmicrohttpd-dev"

BUILD_PKGS="build-essential pkg-config make \
libgrpc-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler \
libpci-dev pci.ids libnuma-dev libjson-c-dev"
build_only=
[ "${1:-}" = --build ] && { PKGS=$BUILD_PKGS; build_only=1; }

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
# kubectl: Debian's kubernetes-client unless another package provides one.
[ -n "$build_only" ] || command -v kubectl >/dev/null 2>&1 || missing="$missing kubernetes-client"
# node and npm (manifest validation): Debian's unless another package provides them.
[ -n "$build_only" ] || command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
