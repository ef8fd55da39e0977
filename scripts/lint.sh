#!/bin/sh
# Static checks (make lint): layering, file and function sizes, cppcheck and
# clang-tidy (configured by .clang-tidy, test/.clang-tidy) over our C sources.
# cppcheck suppressions, with reasons:
#   memleak, resourceLeak  cppcheck does not model __attribute__((cleanup));
#                          leaks are checked by valgrind and ASan (make
#                          valgrind, make check-asan) instead.
#   preprocessorErrorDirective  protoc-c's version guard in the generated
#                          header needs system headers cppcheck does not read.
#   missingIncludeSystem   system headers are not analysed.
# LINT_JOBS sets how many clang-tidy processes run at once (default: nproc).
set -eu
for tool in cppcheck clang-tidy; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "lint: $tool is not installed (apt-get install $tool)" >&2; exit 2; }
done
build=${1:-build}
jobs=${LINT_JOBS:-$(nproc)}
sh scripts/check-layers.sh
/usr/bin/python3 scripts/check-size.py topology cdi plugin
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
    --inline-suppr -I. -I"$build/gen" -D_GNU_SOURCE \
    --suppress=missingIncludeSystem --suppress=memleak --suppress=resourceLeak \
    --suppress=preprocessorErrorDirective \
    topology cdi plugin test
# The flags of the test build: every library's headers (the per-layer
# poisoning is make's check), the generated protobuf header.
cflags="-std=gnu11 -I. -I$build/gen -D_GNU_SOURCE -DKGDP_VERSION=\"lint\" \
$(pkg-config --cflags grpc libprotobuf-c libpci numa json-c cunit)"
export cflags
find topology cdi plugin test -name '*.c' | sort |
    xargs -P "$jobs" -n 8 sh -c 'clang-tidy --quiet "$@" -- $cflags 2>/dev/null' lint >"$build/clang-tidy.log" ||
    { grep -E '(warning|error):' "$build/clang-tidy.log" >&2; echo "lint: clang-tidy found problems (full report: $build/clang-tidy.log)" >&2; exit 1; }
echo "lint: clean"
