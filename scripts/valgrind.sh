#!/bin/sh
# Usage: sh scripts/valgrind.sh UNIT-TESTS INTEGRATION-TESTS
# Runs both test binaries under valgrind. With KGDP_VALGRIND=1 the
# integration harness also runs every daemon it starts under valgrind and
# stretches its time limits; a daemon with a definite or possible leak
# (scripts/valgrind.supp aside) or a memory error exits 99, which fails its
# test. Exit 0 only if all of it passed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 UNIT-TESTS INTEGRATION-TESTS" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (apt-get install valgrind)" >&2
    exit 2
fi

export KGDP_VALGRIND=1
# Possible leaks count too; what libraries keep in ways valgrind cannot
# follow is listed, with the reason, in scripts/valgrind.supp.
supp="$(dirname "$0")/valgrind.supp"
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible --suppressions=$supp"
rc=0
for bin in "$1" "$2"; do
    echo "== valgrind $bin"
    $vg "$bin"
    status=$?
    if [ "$status" -ne 0 ]; then
        echo "== $bin: exit status $status (99: valgrind errors)" >&2
        rc=1
    fi
done
exit $rc
