#!/usr/bin/env bash
# Runs docker/Dockerfile's steps without Docker, in a bare Debian bookworm root file system
# (debootstrap --variant=minbase: no compiler, no Python), with this machine's node binary and
# the npm Node 20 ships, as the node:20-bookworm-slim image provides them; then embeds a fixture
# image with the installed `emb` and compares it with PyTorch's golden.
#
#   sudo tools/clean-install-check.sh [ROOTFS]
#
# ROOTFS (default: a new folder under /tmp) is made with debootstrap when it has no Debian in it
# (apt-get install debootstrap), and reused otherwise. Needs root (chroot, mounts), the Debian
# mirror and the npm registry. NPM_VERSION (default 10.8.2) picks the npm; NPM_CACHE=<dir> shares
# an npm cache folder with the chroot to save downloads.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/lib/bookworm-node.sh"
ROOTFS=${1:-$(mktemp -d /tmp/emb-clean-rootfs.XXXXXX)}
IMAGE=$GOLDEN_IMAGE

[ "$(id -u)" = 0 ] || fail "run as root (chroot and mounts need it)"
bookworm_rootfs "$ROOTFS"

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; mounted+=("$2"); }

add_node_npm "$ROOTFS"
cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
mount -t proc proc "$ROOTFS/proc" && mounted+=("$ROOTFS/proc")
bind /dev "$ROOTFS/dev"
bind /dev/pts "$ROOTFS/dev/pts"
if [ -n "${NPM_CACHE:-}" ]; then bind "$NPM_CACHE" "$ROOTFS/root/.npm"; fi

# Behind a TLS-inspecting proxy, node trusts its certificate through NODE_EXTRA_CA_CERTS: pass it on.
extra_ca=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  cp "$NODE_EXTRA_CA_CERTS" "$ROOTFS/etc/extra-ca-certs.pem"
  extra_ca=(NODE_EXTRA_CA_CERTS=/etc/extra-ca-certs.pem)
fi

in_root() { chroot "$ROOTFS" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin "${extra_ca[@]}" /bin/bash -c "$*"; }

say "RUN apt-get install ca-certificates"
in_root "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null"

say "no compiler, make or Python in the root file system"
for tool in gcc g++ cc c++ make python3 python; do
  if in_root "command -v $tool" >/dev/null; then fail "$tool is present in $ROOTFS: not a bare base"; fi
done

# COPY . . (what .dockerignore lets through, of the committed tree)
say "the repository's committed tree into /app, less .dockerignore's entries"
rm -rf "$ROOTFS/app" && mkdir -p "$ROOTFS/app"
git -C "$REPO" archive HEAD | tar -x -C "$ROOTFS/app"
while read -r entry; do
  case "$entry" in "" | \#*) continue ;; esac
  (cd "$ROOTFS/app" && rm -rf -- $entry)
done <"$REPO/.dockerignore"


say "RUN npm ci && npm prune --omit=dev (ENV ONNXRUNTIME_NODE_INSTALL=skip NPM_CONFIG_UPDATE_NOTIFIER=false)"
in_root "cd /app && export ONNXRUNTIME_NODE_INSTALL=skip NPM_CONFIG_UPDATE_NOTIFIER=false && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund && ln -sf /app/bin/run.js /usr/local/bin/emb" 2>&1 | tee "$ROOTFS/tmp/npm-ci.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "npm ci failed; see $ROOTFS/tmp/npm-ci.log"
if ls "$ROOTFS"/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ | grep -q providers_cuda; then fail "the CUDA provider was fetched"; fi

say "emb embed image on the tiny fixture model"
rm -rf "$ROOTFS/check" && mkdir -p "$ROOTFS/check"
cp -r "$REPO/test/fixtures/siglip-tiny" "$ROOTFS/check/model"
cp "$REPO/test/fixtures/images/$IMAGE" "$ROOTFS/check/"
in_root "cd /tmp && emb embed image /check/$IMAGE --model /check/model --out /check/out --device cpu --no-progress" 2>&1 | tee "$ROOTFS/tmp/emb.log"
if grep -qi "warn" "$ROOTFS/tmp/emb.log"; then fail "emb printed a warning (above)"; fi

say "compare with PyTorch's golden"
compare_with_golden "$ROOTFS/check/out/embeddings.npy"
say "ok: Dockerfile steps work in a bare bookworm with node $(node --version), npm $NPM_VERSION"
