#!/usr/bin/env bash
# Builds docker/Dockerfile (the CPU image) with podman and runs it on the tiny fixture models,
# without a Docker engine or Docker Hub: its base, node:20-bookworm-slim, is made here the way that
# image is made (a Debian bookworm minbase root file system, this machine's Node 20 binary in
# /usr/local/bin, npm 10.8.2 in /usr/local/lib/node_modules/npm with the npm and npx links; see
# tools/lib/bookworm-node.sh) and imported under that name, so the Dockerfile's FROM resolves
# locally (replacing any image of that name in podman's store). The build's context is the working
# tree, as `docker build .` takes it. Then, in the built image:
#   - no gcc, g++, cc, c++, make, python3 or python;
#   - `emb embed image` on test/fixtures' photo with siglip-tiny, compared with PyTorch's golden
#     (cosine >= 0.9999, as test/commands/embed-image.test.ts), with no warning printed;
#   - `emb florence "<CAPTION>"` with florence2-tiny, compared with PyTorch's generation golden;
#   - `emb --help`, and the image's default command.
#
#   sudo tools/docker-check.sh [BASE_ROOTFS]
#
# Needs root, podman (Debian's 4.3 works; runc where crun cannot run containers), debootstrap
# (apt-get install debootstrap), node 20 on PATH, and for the build the Debian mirror and the npm
# registry (it builds with --network host). BASE_ROOTFS (default: a new folder under /tmp) is
# bootstrapped when it has no Debian in it and reused otherwise. MIRROR, NPM_VERSION as in
# tools/lib/bookworm-node.sh; TAG (default emb-cpu) names the built image; RMI=1 removes the built
# image and the imported base at the end. Behind a TLS-inspecting proxy, NODE_EXTRA_CA_CERTS is
# handed to the build's npm (as its cafile, mounted for the build only, not kept in the image).
# The checks' containers run with --network none: the image embeds with no download.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tools/lib/bookworm-node.sh"
BASE=${1:-$(mktemp -d /tmp/emb-docker-base.XXXXXX)}
BASE_IMAGE=docker.io/library/node:20-bookworm-slim
TAG=${TAG:-emb-cpu}
FIXTURES=$REPO/test/fixtures

[ "$(id -u)" = 0 ] || fail "run as root (podman's rootful storage; debootstrap)"
command -v podman >/dev/null || fail "podman is missing: apt-get install podman"

work=$(mktemp -d /tmp/emb-docker-check.XXXXXX)
chmod 755 "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

bookworm_rootfs "$BASE"
add_node_npm "$BASE"

# The image as docker.io/library/node:20-bookworm-slim is: without apt's downloaded packages and
# lists (debian:bookworm-slim ships none) or this machine's resolv.conf; PATH and CMD as it sets them.
say "import $BASE as $BASE_IMAGE"
tar --numeric-owner -C "$BASE" \
  --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/cache/apt/*.bin' \
  --exclude='./var/lib/apt/lists/*' --exclude=./etc/resolv.conf --exclude='./tmp/*' -c . |
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null

# How this host lets podman run a container: as configured, or with rlimits a container may set
# (podman's defaults exceed a low hard limit on open files; here even the host's own process limit
# was refused, 4096 was not), or also with runc where crun refuses a hybrid cgroup v1/v2 setup
# ("cgroups in hybrid mode not supported").
say "podman $(podman version --format '{{.Client.Version}}'): how containers run here"
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096)
opts=()
ran=0
for candidate in "" "limits" "limits runc"; do
  try=()
  case "$candidate" in *limits*) try+=("${limits[@]}") ;; esac
  case "$candidate" in *runc*) command -v runc >/dev/null || { echo "   (no runc to try: apt-get install runc)"; continue; }; try+=(--runtime runc) ;; esac
  if out=$(podman run --rm --network none ${try[@]+"${try[@]}"} "$BASE_IMAGE" node --version 2>&1); then
    opts=(${try[@]+"${try[@]}"})
    ran=1
    echo "   runs with: podman run ${opts[*]:-(no extra options)} -> node $out"
    break
  fi
  echo "   podman run ${try[*]:-(no extra options)}: $out"
done
[ "$ran" = 1 ] || fail "podman cannot run a container here (the errors above)"

# The build's npm behind a TLS-inspecting proxy: its CA bundle as npm's cafile, in a folder mounted
# for the build's steps on the base's empty /usr/local/etc (npm's global npmrc is there); a mount
# on a path the base lacks would leave an empty file in the image.
build_mounts=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  mkdir -p "$work/npm-etc"
  cp "$NODE_EXTRA_CA_CERTS" "$work/npm-etc/extra-ca-certs.pem"
  printf 'cafile=/usr/local/etc/extra-ca-certs.pem\n' >"$work/npm-etc/npmrc"
  build_mounts=(-v "$work/npm-etc:/usr/local/etc:ro")
  echo "   (the build's npm trusts NODE_EXTRA_CA_CERTS: a cafile in /usr/local/etc/npmrc, mounted for the build only)"
fi

say "podman build --network host -f docker/Dockerfile -t $TAG ."
(cd "$REPO" && podman build --pull=never --no-cache --network host ${opts[@]+"${opts[@]}"} ${build_mounts[@]+"${build_mounts[@]}"} \
  -f docker/Dockerfile -t "$TAG" .) 2>&1 | tee "$work/build.log" | grep -E '^(STEP|COMMIT)|added [0-9]+ packages|removed [0-9]+ packages|Error|ERR!' || true
[ "${PIPESTATUS[0]}" = 0 ] || { tail -40 "$work/build.log"; fail "podman build failed (its log's tail above)"; }
size=$(podman image inspect "$TAG" --format '{{.Size}}')
base_size=$(podman image inspect "$BASE_IMAGE" --format '{{.Size}}')
echo "   image $TAG: $((size / 1000000)) MB ($((base_size / 1000000)) MB of it the base)"

run() { podman run --rm --network none ${opts[@]+"${opts[@]}"} "$@"; }

say "no compiler, make or Python in the image; no CUDA provider; no build-time npmrc left behind"
run --entrypoint /bin/sh "$TAG" -c '
  for tool in gcc g++ cc c++ make python3 python; do
    if command -v "$tool"; then echo "FAIL: $tool is in the image"; exit 1; fi
  done
  if ls /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ | grep providers_cuda; then echo "FAIL: the CUDA provider is in the image"; exit 1; fi
  if [ -n "$(ls -A /usr/local/etc)" ]; then echo "FAIL: the build mount left files in /usr/local/etc"; exit 1; fi
  echo "   none of gcc g++ cc c++ make python3 python; onnxruntime-node: $(ls /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/ | tr "\n" " ")"'

say "emb embed image /data/images/$GOLDEN_IMAGE --model /data/siglip-tiny (test/fixtures as /data, read-only)"
mkdir -p "$work/out"
run -v "$FIXTURES:/data:ro" -v "$work/out:/out" "$TAG" \
  embed image "/data/images/$GOLDEN_IMAGE" --model /data/siglip-tiny --out /out/emb --json --no-progress >"$work/embed.json" 2>"$work/embed.err" ||
  { cat "$work/embed.err"; fail "emb embed image failed in the container"; }
if grep -qi warn "$work/embed.err"; then cat "$work/embed.err"; fail "emb printed a warning"; fi
node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`   embedded ${s.embedded} of ${s.total}, failed ${s.failed}, ${s.rows} row in ${s.out}/embeddings.npy`)' "$work/embed.json"
compare_with_golden "$work/out/emb/embeddings.npy"

say "emb florence \"<CAPTION>\" /data/images/$GOLDEN_IMAGE --model /data/florence2-tiny --max-new-tokens 24"
run -v "$FIXTURES:/data:ro" "$TAG" \
  florence "<CAPTION>" "/data/images/$GOLDEN_IMAGE" --model /data/florence2-tiny --max-new-tokens 24 --no-progress >"$work/florence.json" 2>"$work/florence.err" ||
  { cat "$work/florence.err"; fail "emb florence failed in the container"; }
cat "$work/florence.json"
if grep -qi warn "$work/florence.err"; then cat "$work/florence.err"; fail "emb florence printed a warning"; fi
node --input-type=module - "$work/florence.json" "$FIXTURES/goldens/florence2/generation.json" "$GOLDEN_IMAGE" <<'JS'
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
const [output, goldens, image] = process.argv.slice(2);
const golden = JSON.parse(readFileSync(goldens, "utf8")).cases.find(
  (c) => c.image === image && c.task === "<CAPTION>" && JSON.stringify(c.settings) === JSON.stringify({ max_new_tokens: 24 }));
if (!isDeepStrictEqual(JSON.parse(readFileSync(output, "utf8")), golden.parsed)) {
  console.error(`FAIL: PyTorch's answer is ${JSON.stringify(golden.parsed)}`);
  process.exit(1);
}
console.log("   equal to PyTorch's generation golden (beam search, 24 new tokens)");
JS

say "emb --help, and the image's default command"
run "$TAG" --help >"$work/help.txt" || fail "emb --help failed"
head -12 "$work/help.txt"
run "$TAG" >"$work/default.txt" || fail "the image's default command failed"
cmp -s "$work/help.txt" "$work/default.txt" && echo "   (the default command prints the same)" || { head -3 "$work/default.txt"; echo "   (the default command prints the above)"; }

if [ "${RMI:-0}" = 1 ]; then
  say "podman rmi $TAG $BASE_IMAGE"
  podman rmi "$TAG" "$BASE_IMAGE" >/dev/null
fi
say "ok: docker/Dockerfile builds on $BASE_IMAGE as made here (Debian $(cat "$BASE/etc/debian_version"), node $(node --version), npm $NPM_VERSION) with podman $(podman version --format '{{.Client.Version}}'); $TAG is $((size / 1000000)) MB"
