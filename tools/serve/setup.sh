#!/usr/bin/env bash
# Installs NVIDIA's perf_analyzer (shipped in the tritonclient wheel) and the Triton Python client
# into tools/serve/.venv. Idempotent: rerunning only fills in what is missing.
# Usage: bash tools/serve/setup.sh      then: tools/serve/perf_analyzer -m MODEL -u localhost:8000 ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"

# Debian packages: the venv module for Debian's python3, and libb64 (perf_analyzer links libb64.so.0d).
missing=()
for pkg in python3-venv libb64-0d; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# The venv comes from Debian's python3, not whatever python3 is first on PATH (e.g. pyenv).
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
fi

# (Re)install when requirements.txt changed since the last successful install.
stamp="$venv/.requirements.installed"
if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

# Smoke check: the wrapper finds the binary and every shared library it needs.
if "$here/perf_analyzer" --ldd 2>/dev/null | grep -q 'not found'; then
  echo "setup.sh: perf_analyzer has unresolved shared libraries:" >&2
  "$here/perf_analyzer" --ldd | grep 'not found' >&2
  exit 1
fi
# (perf_analyzer prints its version on stderr.)
version="$("$here/perf_analyzer" --version 2>&1)"
echo "perf_analyzer ready: $version"
