#!/bin/sh
# One summary of every test program that make test ran (make test).
# Usage: test-summary.sh FILE ENTRY...
#   FILE   the lines the CUnit runners appended (test/support/runner.c,
#          KGDP_TEST_SUMMARY);
#   ENTRY  a CUnit program name, which must have left its line in FILE or
#          counts as failed (it crashed or was never run); or NAME=LOG, the
#          output of tests that print "PASS: <test>: ..." / "FAIL: <test>:
#          ..." lines (make realtests): each test named is one test, failed
#          when any of its lines says FAIL; SKIP lines are left out.
# Prints the totals, then the final line "N passed, N failed"; exit status
# 1 when anything failed.
set -eu
file=$1
shift
[ -e "$file" ] || : >"$file"
missing=""
extra=""
for entry in "$@"; do
    case $entry in
    *=*)
        name=${entry%%=*}
        log=${entry#*=}
        [ -e "$log" ] || : >"$log"
        extra="$extra$(awk -v name="$name" '
            /^(PASS|FAIL): [^:]+:/ {
                t = $2; sub(/:$/, "", t)
                seen[t] = 1
                if ($1 == "FAIL:") bad[t] = 1
            }
            END {
                for (t in seen) { n++; if (t in bad) f++ }
                printf "%s suites=%d suites_failed=0 tests=%d tests_failed=%d asserts=0 asserts_failed=0\n",
                    name, n ? 1 : 0, n, f
            }' "$log")
"
        ;;
    *)
        grep -q "^$entry " "$file" || missing="$missing $entry"
        ;;
    esac
done
printf '%s' "$extra" | cat "$file" - | awk -v missing="$missing" '
function val(key,   i, kv) {
    for (i = 2; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == key)
            return kv[2] + 0
    }
    return 0
}
NF > 0 {
    progs = progs (progs ? ", " : "") $1
    suites += val("suites"); sfail += val("suites_failed")
    tests += val("tests"); tfail += val("tests_failed")
    asserts += val("asserts"); afail += val("asserts_failed")
}
END {
    n_missing = split(missing, m, " ")
    printf "\nAll test programs (%s):\n", progs
    printf "%20s %6s %6s %6s\n", "Type", "Ran", "Passed", "Failed"
    printf "%20s %6d %6s %6d\n", "suites", suites, "n/a", sfail
    printf "%20s %6d %6d %6d\n", "tests", tests, tests - tfail, tfail
    printf "%20s %6d %6d %6d\n", "asserts", asserts, asserts - afail, afail
    for (i = 1; i <= n_missing; i++)
        printf "%s: no result (crashed or not run): counted as 1 failed\n", m[i]
    failed = tfail + sfail + n_missing
    printf "%d passed, %d failed\n", tests - tfail, failed
    exit failed ? 1 : 0
}'
