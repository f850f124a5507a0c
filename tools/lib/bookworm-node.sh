# Shared by tools/clean-install-check.sh and tools/docker-check.sh (source it; bash): a bare
# Debian bookworm root file system with Node 20 and its npm added as node:20-bookworm-slim adds
# them, and the comparison of an `emb embed image` output with PyTorch's golden.
#
# Needs REPO (the repository root) set by the caller. MIRROR (default http://deb.debian.org/debian)
# is the Debian mirror; NPM_VERSION (default 10.8.2, the npm Node 20 ships) the npm.

MIRROR=${MIRROR:-http://deb.debian.org/debian}
NPM_VERSION=${NPM_VERSION:-10.8.2}
# The fixture image checked against the golden, and the golden's file and tolerance
# (test/commands/embed-image.test.ts: vision_pooler_output.npy, cosine >= 0.9999).
GOLDEN_IMAGE=photo_500x375.jpg

say() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# bookworm_rootfs DIR: debootstrap --variant=minbase bookworm into DIR unless it holds Debian already.
bookworm_rootfs() {
  local rootfs=$1
  mkdir -p "$rootfs"
  # A root file system's top folder is world-readable (mktemp makes 0700; apt's _apt user needs in).
  chmod 755 "$rootfs"
  if [ ! -f "$rootfs/etc/debian_version" ]; then
    command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
    say "debootstrap --variant=minbase bookworm $rootfs $MIRROR"
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$rootfs.debootstrap.log" 2>&1 || fail "debootstrap failed; see $rootfs.debootstrap.log"
  fi
  say "base: Debian $(cat "$rootfs/etc/debian_version") minbase, bootstrapped $(head -1 "$rootfs/var/log/dpkg.log" | cut -d' ' -f1)"
}

# add_node_npm DIR: what node:20-bookworm-slim adds to bookworm: this machine's node binary in
# /usr/local/bin, npm $NPM_VERSION in /usr/local/lib/node_modules/npm, and the npm and npx links.
add_node_npm() {
  local rootfs=$1 tarball
  command -v node >/dev/null || fail "node is not on PATH (its binary is copied into the root file system)"
  case "$(node --version)" in v20.*) ;; *) fail "node $(node --version) is not Node 20, which node:20-bookworm-slim has" ;; esac
  say "node $(node --version) and npm $NPM_VERSION into $rootfs/usr/local"
  install -D -m 755 "$(readlink -f "$(command -v node)")" "$rootfs/usr/local/bin/node"
  rm -rf "$rootfs/usr/local/lib/node_modules/npm"
  mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/tmp"
  tarball=$(cd "$rootfs/tmp" && npm pack --silent "npm@$NPM_VERSION")
  tar -xzf "$rootfs/tmp/$tarball" -C "$rootfs/usr/local/lib/node_modules" && mv "$rootfs/usr/local/lib/node_modules/package" "$rootfs/usr/local/lib/node_modules/npm"
  rm -f "$rootfs/tmp/$tarball"
  ln -sfn ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sfn ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
}

# compare_with_golden NPY: the first row of an embeddings.npy against PyTorch's embedding of
# $GOLDEN_IMAGE; prints the cosine and fails below 0.9999.
compare_with_golden() {
  node --input-type=module - "$1" "$REPO/test/fixtures/goldens/siglip" "$GOLDEN_IMAGE" <<'JS'
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
let dot = 0, a = 0, b = 0, maxDiff = 0;
for (let i = 0; i < got.length; i++) {
  dot += got[i] * want[i]; a += got[i] ** 2; b += want[i] ** 2;
  maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
}
const cosine = dot / Math.sqrt(a * b);
console.log(`cosine with PyTorch's embedding of ${image}: ${cosine.toFixed(7)} (${got.length} values, max abs difference ${maxDiff.toExponential(2)})`);
if (!(cosine >= 0.9999)) { console.error("FAIL: the embedding differs from the golden"); process.exit(1); }
JS
}
