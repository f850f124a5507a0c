#!/usr/bin/env bash
# Installs NVIDIA's perf_analyzer (shipped in the tritonclient wheel) and the Triton Python client
# into tools/serve/.venv. Idempotent: rerunning only fills in what is missing.
# Usage: bash tools/serve/setup.sh      then: tools/serve/perf_analyzer -m MODEL -u localhost:8000 ...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"

# A venv from Debian's python3, and libb64 (perf_analyzer links libb64.so.0d).
source "$here/../lib/debian-venv.sh"
debian_venv "$venv" "$req" libb64-0d

# Smoke check: the wrapper finds the binary and every shared library it needs.
if "$here/perf_analyzer" --ldd 2>/dev/null | grep -q 'not found'; then
  echo "setup.sh: perf_analyzer has unresolved shared libraries:" >&2
  "$here/perf_analyzer" --ldd | grep 'not found' >&2
  exit 1
fi
# (perf_analyzer prints its version on stderr.)
version="$("$here/perf_analyzer" --version 2>&1)"
echo "perf_analyzer ready: $version"
