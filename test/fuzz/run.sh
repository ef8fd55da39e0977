#!/bin/sh
# Usage: run.sh FUZZ_DIR SECONDS TARGET...
# Run each libFuzzer target for SECONDS on its committed seeds plus what
# earlier runs found, and print one line of figures per target: runs,
# executions per second, coverage (edges) and features, corpus size. Exit
# non-zero when any target finds a crash, a leak or a timeout (its input is
# left in FUZZ_DIR/artifacts/).
set -u
dir=$1
secs=$2
shift 2
src=$(dirname "$0")
mkdir -p "$dir/artifacts"
failed=0
printf '%-16s %10s %9s %7s %7s %7s  %s\n' target runs exec/s cov ft corpus result
for t in "$@"; do
    work="$dir/corpus/$t"
    log="$dir/$t.log"
    mkdir -p "$work"
    "$dir/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$t-" "$work" "$src/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    result=ok
    if [ "$rc" -ne 0 ]; then
        result="FAILED (rc $rc, see $log)"
        failed=1
    fi
    printf '%-16s %10s %9s %7s %7s %7s  %s\n' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "$result"
    if [ "$rc" -ne 0 ]; then
        grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ ' "$log" | head -n 40
    fi
done
exit $failed
