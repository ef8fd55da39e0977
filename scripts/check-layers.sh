#!/bin/sh
# Which project headers each layer may include (make, make lint). A layer
# sees itself and the layers below it, never one above: an include of a
# higher layer's header is an error naming the file and the rule.
set -eu
cd "$(dirname "$0")/.."

rules='
topology/base     topology/base/
topology/host     topology/base/ topology/host/
topology/units    topology/base/ topology/host/ topology/units/
cdi               topology/ cdi/
plugin/log        topology/base/ plugin/log/
plugin/config     topology/ plugin/log/ plugin/config/
plugin/metrics    topology/ plugin/log/ plugin/metrics/
plugin/events     topology/ plugin/log/ plugin/config/ plugin/metrics/ plugin/events/
plugin/grpc       topology/ cdi/ proto/ plugin/log/ plugin/config/ plugin/metrics/ plugin/events/ plugin/grpc/
plugin/discover   topology/ cdi/ plugin/log/ plugin/config/ plugin/discover/
plugin/daemon     topology/ cdi/ plugin/log/ plugin/config/ plugin/metrics/ plugin/events/ plugin/grpc/ plugin/discover/ plugin/daemon/
plugin/cli        topology/ cdi/ plugin/
'

bad=0
echo "$rules" | while read -r dir allowed; do
    [ -n "$dir" ] || continue
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -e "$f" ] || continue
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r line; do
            inc=$(printf '%s\n' "$line" | sed 's/.*"\(.*\)".*/\1/')
            ok=no
            for a in $allowed; do
                case $inc in "$a"*) ok=yes ;; esac
            done
            if [ $ok = no ]; then
                echo "check-layers: $f:${line%%:*}: \"$inc\" is above layer $dir (allowed: $allowed)" >&2
                echo bad
            fi
        done
    done
done | grep -q bad && bad=1
for d in topology plugin; do
    if ls "$d"/*.c "$d"/*.h >/dev/null 2>&1; then
        echo "check-layers: $d/ holds files outside its layer folders" >&2
        bad=1
    fi
done
exit $bad
