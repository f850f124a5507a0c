#!/usr/bin/env bash
# Creates bench/triton/.venv with the real Triton Inference Server (nvidia-pytriton) plus torch CPU
# and transformers, for bench/triton/serve_siglip.py and bench/serve-vs-triton.sh.
# Idempotent: rerunning only reinstalls when requirements.txt changed.
# Usage: bash bench/triton/setup.sh
# (perf_analyzer itself lives in tools/serve/.venv: bash tools/serve/setup.sh)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"

# Debian's venv module (PyTriton's bundled Python backend stub does not work with a pyenv interpreter,
# it needs the shared libpython of a distribution python3).
if ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q 'install ok installed'; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv
fi

if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv "$venv"
fi

stamp="$venv/.requirements.installed"
if [ ! -f "$stamp" ] || ! cmp -s "$req" "$stamp"; then
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi

# Smoke check: the modules import, and the bundled stub exists for this interpreter's version.
"$venv/bin/python" - <<'PY'
import sys, pathlib
import torch, transformers, pytriton
from pytriton.triton import TritonSecurityConfig  # noqa: F401 (needed to open the statistics endpoint)
from pytriton.utils.distribution import get_stub_path
stub = pathlib.Path(get_stub_path(f"{sys.version_info[0]}.{sys.version_info[1]}"))
assert stub.is_file(), f"no PyTriton python backend stub for {sys.version}: {stub}"
import importlib.metadata as md
print(f"triton bench venv ready: python {sys.version.split()[0]}, nvidia-pytriton {md.version('nvidia-pytriton')}, "
      f"torch {torch.__version__}, transformers {transformers.__version__}")
PY
