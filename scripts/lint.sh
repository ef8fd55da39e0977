#!/bin/sh
# Static checks (make lint): cppcheck over our C sources.
# Suppressed, with reasons:
#   memleak, resourceLeak  cppcheck does not model __attribute__((cleanup));
#                          leaks are checked by valgrind and ASan (make
#                          valgrind, make check-asan) instead.
#   preprocessorErrorDirective  protoc-c's version guard in the generated
#                          header needs system headers cppcheck does not read.
#   missingIncludeSystem   system headers are not analysed.
set -eu
command -v cppcheck >/dev/null 2>&1 || { echo "lint: cppcheck is not installed (apt-get install cppcheck)" >&2; exit 2; }
build=${1:-build}
sh scripts/check-layers.sh
exec cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
    --inline-suppr -I. -I"$build/gen" -D_GNU_SOURCE \
    --suppress=missingIncludeSystem --suppress=memleak --suppress=resourceLeak \
    --suppress=preprocessorErrorDirective \
    topology cdi plugin test
