#!/bin/sh
# make manifests (part of make test): lint the YAML under deployments/,
# render every kustomize overlay with `kubectl kustomize`, validate every
# rendered object and sample pod against the Kubernetes API schemas
# (validate.js), then break the DaemonSet on purpose in several ways and
# require the validation to fail each time.
#
# usage: check.sh BUILD_DIR (absolute). npm packages are installed with
# `npm ci` from the committed lockfile into BUILD_DIR/npm.
set -eu

build=${1:?usage: check.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
npm_dir="$build/npm"
out="$build/manifests"
started=$(date +%s)

fail() { echo "manifests: FAIL: $*"; exit 1; }

if ! cmp -s "$here/package-lock.json" "$npm_dir/package-lock.json" || [ ! -d "$npm_dir/node_modules" ]; then
    rm -rf "$npm_dir"
    mkdir -p "$npm_dir"
    cp "$here/package.json" "$here/package-lock.json" "$npm_dir/"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci"
fi
export NODE_PATH="$npm_dir/node_modules"

yamllint -c test/manifests/yamllint.yaml -s deployments || fail "yamllint deployments"
echo "manifests: yamllint clean: $(find deployments -name '*.yaml' | wc -l) files"

rm -rf "$out"
mkdir -p "$out"
for dir in deployments/kustomize/overlays/* deployments/kustomize/runtimeclasses; do
    name=$(basename "$dir")
    kubectl kustomize "$dir" >"$out/$name.yaml" 2>"$out/$name.err" ||
        fail "kubectl kustomize $dir: $(cat "$out/$name.err")"
    echo "manifests: rendered $dir ($(grep -c '^kind: ' "$out/$name.yaml") objects)"
done
for o in passthrough multi ppcie standalone; do
    [ -s "$out/$o.yaml" ] || fail "overlay $o missing"
    mode=$(sed -n 's/.*"mode": "\([a-z]*\)".*/\1/p' "$out/$o.yaml")
    want=$o
    [ "$o" = standalone ] && want=passthrough
    [ "$mode" = "$want" ] || fail "overlay $o renders mode '$mode', not $want"
done

node "$here/validate.js" "$out"/*.yaml deployments/examples/*.yaml || fail "validation"

# Broken copies of the DaemonSet, validated in one run: each must be
# rejected with a message naming what is wrong.
# name<TAB>sed expression<TAB>expected message
cases=$(printf '%s\t%s\t%s\n' \
    unknown-field 's/readOnlyRootFilesystem: true/readOnlyRootFileSystem: true/' \
    "'\"readOnlyRootFileSystem\"' does not exist in type 'ISecurityContext'" \
    wrong-type 's/privileged: false/privileged: "no"/' "privileged must be boolean" \
    bad-enum 's/type: RuntimeDefault/type: Default/' \
    "seccompProfile/type must be equal to one of the allowed values" \
    missing-required 's/^  selector:$/  selektor:/' "data/spec must have required property selector" \
    privilege-escalation 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/' \
    "policy: allowPrivilegeEscalation must be false" \
    all-of-dev 's#path: /dev/vfio$#path: /dev#' "policy: hostPath /dev is not allowed")
tab=$(printf '\t')
mkdir -p "$out/broken"
echo "$cases" | while IFS=$tab read -r c expr _; do
    sed "$expr" "$out/passthrough.yaml" >"$out/broken/$c.yaml"
    if cmp -s "$out/passthrough.yaml" "$out/broken/$c.yaml"; then fail "broken copy $c is unchanged"; fi
done
if node "$here/validate.js" "$out"/broken/*.yaml >"$out/broken.out" 2>&1; then
    fail "broken copies passed validation: $(cat "$out/broken.out")"
fi
echo "$cases" | while IFS=$tab read -r c _ want; do
    if grep -q "^valid   .*/broken/$c.yaml: DaemonSet/" "$out/broken.out"; then
        fail "broken copy $c passed validation"
    fi
    grep -F "/broken/$c.yaml: " "$out/broken.out" | grep -qF "$want" ||
        fail "broken copy $c: no '$want' in: $(cat "$out/broken.out")"
    echo "manifests: broken on purpose and rejected: $c: $want"
done
echo "manifests: PASS ($(($(date +%s) - started)) s)"
