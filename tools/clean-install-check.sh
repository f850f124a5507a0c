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
ROOTFS=${1:-$(mktemp -d /tmp/emb-clean-rootfs.XXXXXX)}
NPM_VERSION=${NPM_VERSION:-10.8.2}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
IMAGE=photo_500x375.jpg

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (chroot and mounts need it)"
command -v node >/dev/null || fail "node is not on PATH (its binary is copied into the root file system)"

# A root file system's top folder is world-readable (mktemp makes 0700; apt's _apt user needs in).
chmod 755 "$ROOTFS"
if [ ! -f "$ROOTFS/etc/debian_version" ]; then
  command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
  say "debootstrap --variant=minbase bookworm $ROOTFS"
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.debootstrap.log" 2>&1 || fail "debootstrap failed; see $ROOTFS.debootstrap.log"
fi
say "base: Debian $(cat "$ROOTFS/etc/debian_version") minbase, bootstrapped $(head -1 "$ROOTFS/var/log/dpkg.log" | cut -d' ' -f1)"

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; mounted+=("$2"); }

# What node:20-bookworm-slim adds to bookworm: node in /usr/local/bin and npm beside it.
say "node $(node --version) and npm $NPM_VERSION into /usr/local"
install -m 755 "$(readlink -f "$(command -v node)")" "$ROOTFS/usr/local/bin/node"
rm -rf "$ROOTFS/usr/local/lib/node_modules/npm"
mkdir -p "$ROOTFS/usr/local/lib/node_modules"
tarball=$(cd "$ROOTFS/tmp" && npm pack --silent "npm@$NPM_VERSION")
tar -xzf "$ROOTFS/tmp/$tarball" -C "$ROOTFS/usr/local/lib/node_modules" && mv "$ROOTFS/usr/local/lib/node_modules/package" "$ROOTFS/usr/local/lib/node_modules/npm"
rm -f "$ROOTFS/tmp/$tarball"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
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
node --input-type=module - "$ROOTFS/check/out/embeddings.npy" "$REPO/test/fixtures/goldens/siglip" "$IMAGE" <<'JS'
import { readFileSync } from "node:fs";
import { join } from "node:path";
const [output, goldens, image] = process.argv.slice(2);
// A float32 .npy matrix: its shape from the header, its rows after it.
function rows(path) {
  const b = readFileSync(path);
  const headerEnd = 10 + b.readUInt16LE(8);
  const [n, d] = /'shape': \((\d+), (\d+)\)/.exec(b.subarray(10, headerEnd).toString("latin1")).slice(1).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + headerEnd, b.byteOffset + headerEnd + n * d * 4));
  return Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d));
}
const index = JSON.parse(readFileSync(join(goldens, "goldens.json"), "utf8")).images.findIndex((i) => i.file === image);
const [got] = rows(output);
const want = rows(join(goldens, "vision_pooler_output.npy"))[index];
let dot = 0, a = 0, b = 0;
for (let i = 0; i < got.length; i++) { dot += got[i] * want[i]; a += got[i] ** 2; b += want[i] ** 2; }
const cosine = dot / Math.sqrt(a * b);
console.log(`cosine with PyTorch's embedding: ${cosine.toFixed(7)} (${got.length} values)`);
if (!(cosine >= 0.9999)) { console.error("FAIL: the embedding differs from the golden"); process.exit(1); }
JS
say "ok: Dockerfile steps work in a bare bookworm with node $(node --version), npm $NPM_VERSION"
